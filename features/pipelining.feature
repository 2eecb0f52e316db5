Feature: Pipelining
  A client may send several requests without waiting for each reply. The
  backend answers every request exactly once, in the order the requests
  arrived, so DISCOS can match each reply to its request by position.

  Background:
    Given a backend

  Scenario: Requests sent together are answered in order
    When the client sends, without waiting for replies:
      | set-configuration,K2000 |
      | get-configuration       |
      | set-integration,100     |
      | get-integration         |
      | launch                  |
      | version                 |
    Then the client receives, in order:
      | !set-configuration,ok                |
      | !get-configuration,ok,K2000          |
      | !set-integration,ok                  |
      | !get-integration,ok,100              |
      | !launch,fail,invalid command 'launch' |
      | !version,ok,1.4                      |

  Scenario: Several lines in one packet get one reply each
    When the client sends the raw line "?version\r\n?get-integration,x\r\n\r\n?version\n"
    Then the client receives, in order:
      | !version,ok,1.4                                              |
      | !get-integration,fail,get-integration takes no arguments (got 1) |
      | !undefined,invalid,syntax error: empty line                  |
      | !version,ok,1.4                                              |
