@fresh
Feature: A catalogue of configurations
  A real backend knows a fixed list of configurations, each acquiring on its
  own number of sections. Given that list, the simulator behaves like that
  backend: unknown names are refused and total power comes with one value per
  section of the configuration in use.

  Background:
    Given a backend with the catalogue "fixtures/catalogue.toml"

  Scenario: A configuration in the catalogue is accepted
    When the client sends "set-configuration,K2000"
    Then the client receives "!set-configuration,ok"

  Scenario: A configuration missing from the catalogue is refused
    When the client sends "set-configuration,Q9"
    Then the client receives "!set-configuration,fail,cannot find configuration 'Q9'"

  Scenario Outline: Total power has one value per section of the configuration
    Given the backend is configured as "<configuration>"
    When the client sends "get-tpi"
    Then the reply has <sections> values between 0 and 100
    When the client sends "get-tp0"
    Then the reply has <sections> values between 0 and 0

    Examples:
      | configuration | sections |
      | K2000         | 2        |
      | C4            | 4        |
      | TP1           | 1        |
