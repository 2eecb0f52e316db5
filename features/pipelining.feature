Feature: Pipelining
  A client may send several requests without waiting for each reply. The
  backend answers every request exactly once, in the order the requests
  arrived, so DISCOS can match each reply to its request by position. A
  refusal written with its code alone ("!get-integration,fail") stands for a
  refusal with any reason.

  Background:
    Given a backend

  Scenario: Requests sent together are answered once each, in order
    When the client sends, without waiting for replies:
      | request                 |
      | set-configuration,K2000 |
      | get-configuration       |
      | set-integration,100     |
      | get-integration         |
      | launch                  |
      | version                 |
    Then the client receives, in order:
      | reply                                 |
      | !set-configuration,ok                 |
      | !get-configuration,ok,K2000           |
      | !set-integration,ok                   |
      | !get-integration,ok,100               |
      | !launch,fail,invalid command 'launch' |
      | !version,ok,1.4                       |

  Scenario: Several lines in one packet get one reply each, a malformed one included
    When the client sends the raw line "?version\r\n?get-integration,x\r\n\r\n?version\n"
    Then the client receives, in order:
      | reply                  |
      | !version,ok,1.4        |
      | !get-integration,fail  |
      | !undefined,invalid     |
      | !version,ok,1.4        |
