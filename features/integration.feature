Feature: Integration time
  The integration time, in milliseconds, sets how long each total-power
  sample is accumulated. DISCOS sets it before a scan and reads it back; a
  backend that accepts nonsense here integrates for a time nobody chose.

  Background:
    Given a backend

  @fresh
  Scenario: A new backend integrates for 0 milliseconds
    When the client sends "get-integration"
    Then the client receives "!get-integration,ok,0"

  Scenario: An integration time that is set can be read back
    When the client sends "set-integration,250"
    Then the client receives "!set-integration,ok"
    When the client sends "get-integration"
    Then the client receives "!get-integration,ok,250"

  Scenario Outline: An integration time must be a whole number of milliseconds
    When the client sends "set-integration,<value>"
    Then the reply is fail
    And the reply says "<reason>"

    Examples:
      | value | reason                                    |
      | 2.5   | integration time must be an integer number |
      | ten   | integration time must be an integer number |
      | -10   | integration time must not be negative      |

  Scenario: Setting the integration time needs a value
    When the client sends "set-integration"
    Then the reply is fail
    And the reply says "needs an integration time"

  Scenario: Reading the integration time takes no arguments
    When the client sends "get-integration,ms"
    Then the reply is fail
