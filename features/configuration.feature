Feature: Configuration
  Before an observation DISCOS tells the backend which receiver configuration
  to use, by name, and reads it back to be sure. A backend that accepts a
  configuration it does not know, or forgets the one it was given, produces
  data that cannot be calibrated.

  Background:
    Given a backend

  @fresh
  Scenario: A new backend is unconfigured
    When the client sends "get-configuration"
    Then the client receives "!get-configuration,ok,unconfigured"

  Scenario: A configuration that is set can be read back
    When the client sends "set-configuration,K2000"
    Then the client receives "!set-configuration,ok"
    When the client sends "get-configuration"
    Then the client receives "!get-configuration,ok,K2000"

  Scenario: The question mark of a request may be left out when writing a scenario
    When the client sends "?set-configuration,XK7"
    And the client sends "get-configuration"
    Then the client receives "!get-configuration,ok,XK7"

  Scenario Outline: Configuration names in either case are known
    When the client sends "set-configuration,<name>"
    Then the reply is ok
    When the client sends "get-configuration"
    Then the client receives "!get-configuration,ok,<name>"

    Examples:
      | name    |
      | K2000   |
      | k2000   |
      | CCC-4   |
      | Xbb     |

  Scenario: A configuration name that does not start with a letter is unknown
    When the client sends "set-configuration,2000K"
    Then the client receives "!set-configuration,fail,cannot find configuration '2000K'"

  Scenario: Setting a configuration needs its name
    When the client sends "set-configuration"
    Then the reply is fail
    And the reply says "needs a configuration id"

  Scenario: Setting a configuration takes exactly one name
    When the client sends "set-configuration,K2000,C4"
    Then the reply is fail
    And the reply says "takes at most 1 argument"

  Scenario: Reading the configuration takes no arguments
    When the client sends "get-configuration,K2000"
    Then the reply is fail
    And the reply says "takes no arguments"
