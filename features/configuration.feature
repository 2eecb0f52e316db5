Feature: Configuration
  Before an observation DISCOS tells the backend which receiver configuration
  to use, by name, and reads it back to be sure. DISCOS's names are all upper
  case (SK77, SKARAB_1S), so a backend takes a name exactly as written. A
  backend that accepts a configuration it does not know, or forgets the one
  it was given, produces data that cannot be calibrated. The suite uses
  K2000, the protocol's own example, as a configuration every backend under
  test knows.

  Background:
    Given a backend

  @fresh @should:unconfigured
  Scenario: A backend nobody has configured says it is unconfigured
    Then the configuration is "unconfigured"

  @must:ids-as-written
  Scenario: A configuration that is set is the one read back, upper case and all
    When the client sets the configuration to "K2000"
    Then the backend accepts it
    And the configuration is "K2000"

  @must:unknown-configuration
  Scenario: A configuration the backend does not know is refused
    When the client sets the configuration to "9-NO-SUCH-CONFIGURATION"
    Then the backend refuses it

  @must:reason-given
  Scenario: A refusal gives a reason, whose first word DISCOS reads
    When the client sets the configuration to "9-NO-SUCH-CONFIGURATION"
    Then the backend refuses it, giving a reason

  @should:fixed-phrases
  Scenario: A configuration the backend does not know is refused, by name
    When the client sets the configuration to "9-NO-SUCH-CONFIGURATION"
    Then the backend refuses it, saying "cannot find configuration '9-NO-SUCH-CONFIGURATION'"

  @should:missing-arguments
  Scenario: Setting a configuration without a name is refused
    When the client sends "set-configuration"
    Then the backend refuses it

  @should:missing-arguments
  Scenario: Setting an empty configuration name is refused
    When the client sends "set-configuration,"
    Then the backend refuses it

  @should:extra-arguments
  Scenario: Setting two configurations at once is refused
    When the client sends "set-configuration,K2000,K2000"
    Then the backend refuses it

  @should:extra-arguments
  Scenario: Reading the configuration takes no arguments
    When the client sends "get-configuration,K2000"
    Then the backend refuses it

  @simulator
  Scenario Outline: The simulator knows every name that starts with a letter, in either case (<name>)
    When the client sets the configuration to "<name>"
    Then the backend accepts it
    And the configuration is "<name>"

    Examples:
      | name      |
      | K2000     |
      | k2000     |
      | CCC-4     |
      | Xbb       |
      | SK77S     |
      | SKARAB_1S |

  @simulator
  Scenario: The simulator does not know a name that starts with a digit
    When the client sets the configuration to "2000K"
    Then the backend refuses it, saying "cannot find configuration '2000K'"

  @simulator
  Scenario: The simulator says what a refused configuration request lacked or had too much of
    When the client sends "set-configuration"
    Then the backend refuses it, saying "set-configuration needs a configuration id"
    When the client sends "set-configuration,K2000,C4"
    Then the backend refuses it, saying "set-configuration takes at most 1 argument (got 2)"
    When the client sends "get-configuration,K2000"
    Then the backend refuses it, saying "get-configuration takes no arguments (got 1)"
