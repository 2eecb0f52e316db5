@simulator @fresh
Feature: The simulator's catalogue of configurations
  A real backend knows a fixed list of configurations, each acquiring on its
  own number of sections. Given that list, the simulator behaves like that
  backend: unknown names are refused and total power comes with one value per
  section of the configuration in use.

  Background:
    Given a backend with the catalogue "fixtures/catalogue.toml"

  Scenario: A configuration in the catalogue is accepted
    When the client sets the configuration to "K2000"
    Then the backend accepts it
    And the configuration is "K2000"

  Scenario: A configuration missing from the catalogue is refused, by name
    When the client sets the configuration to "Q9"
    Then the backend refuses it, saying "cannot find configuration 'Q9'"

  Scenario Outline: Total power has one value per section of <configuration>, which has <sections>
    Given the backend is configured as "<configuration>"
    When the client asks for the total power
    Then the reply holds <sections> numbers between 0 and 100
    When the client asks for the zero level
    Then the reply holds <sections> numbers between 0 and 0

    Examples:
      | configuration | sections |
      | K2000         | 2        |
      | C4            | 4        |
      | TP1           | 1        |
