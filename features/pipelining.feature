Feature: Pipelining
  A client may send several requests without waiting for each reply. The
  backend answers every request exactly once, in the order the requests
  arrived: DISCOS reads one line for each request it sends, so a missing or
  an extra reply puts every later one a request off. A refusal written with
  its code alone ("!get-integration,fail") stands for a refusal with any
  reason.

  Background:
    Given a backend

  @must:one-reply
  Scenario: Requests sent together are answered once each, in order
    When the client sends, without waiting for replies:
      | request                 |
      | set-configuration,K2000 |
      | get-configuration       |
      | set-integration,100     |
      | get-integration         |
      | set-integration,40      |
      | get-integration         |
    Then the client receives, in order:
      | reply                                 |
      | !set-configuration,ok                 |
      | !get-configuration,ok,K2000           |
      | !set-integration,ok                   |
      | !get-integration,ok,100               |
      | !set-integration,ok                   |
      | !get-integration,ok,40                |

  @must:split-lines
  Scenario: Several requests in one packet get one reply each
    When the client sends the raw line "?set-integration,40\r\n?get-integration\r\n?set-integration,50\r\n?get-integration\r\n"
    Then the client receives, in order:
      | reply                   |
      | !set-integration,ok     |
      | !get-integration,ok,40  |
      | !set-integration,ok     |
      | !get-integration,ok,50  |

  @should:malformed-lines
  Scenario: Several lines in one packet get one reply each, a malformed one included
    When the client sends the raw line "?version\r\n?get-integration,x\r\n\r\n?version\n"
    Then the client receives, in order:
      | reply                  |
      | !version,ok,1.4        |
      | !get-integration,fail  |
      | !undefined,invalid     |
      | !version,ok,1.4        |

  @should:unknown-command
  Scenario: A command the backend does not know is answered in its turn
    When the client sends, without waiting for replies:
      | request         |
      | launch          |
      | version         |
    Then the client receives, in order:
      | reply                                 |
      | !launch,fail,invalid command 'launch' |
      | !version,ok,1.4                       |
