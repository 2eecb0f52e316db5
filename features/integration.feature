Feature: Integration time
  The integration time, in milliseconds, sets how long each total-power
  sample is accumulated. DISCOS sets it before a scan and reads it back; a
  backend that accepts nonsense here integrates for a time nobody chose.

  Background:
    Given a backend

  @fresh @should:integration-unset
  Scenario: A backend nobody has set integrates for 0 milliseconds
    Then the integration time is 0 milliseconds

  @must:integration
  Scenario: An integration time that is set is the one read back
    When the client sets the integration time to 250 milliseconds
    Then the backend accepts it
    And the integration time is 250 milliseconds

  @should:fixed-phrases
  Scenario Outline: An integration time that is <what is wrong> is refused, saying so (<value>)
    When the client sets the integration time to "<value>"
    Then the backend refuses it, saying "integration time must be an integer number"

    Examples:
      | value | what is wrong      |
      | 2.5   | not a whole number |
      | ten   | not a number       |

  @should:bad-values
  Scenario: A negative integration time is refused
    When the client sets the integration time to "-10"
    Then the backend refuses it

  @should:missing-arguments
  Scenario: Setting the integration time without a value is refused
    When the client sends "set-integration"
    Then the backend refuses it

  @should:extra-arguments
  Scenario: Reading the integration time takes no arguments
    When the client sends "get-integration,ms"
    Then the backend refuses it

  @simulator
  Scenario: The simulator says what is wrong with an integration time it refuses
    When the client sets the integration time to "-10"
    Then the backend refuses it, saying "integration time must not be negative (got -10)"
    When the client sends "set-integration"
    Then the backend refuses it, saying "set-integration needs an integration time in milliseconds"
