@simulator @fresh
Feature: The simulator's catalogue of configurations
  A real backend knows a fixed list of configurations, each acquiring on its
  own number of sections and reading its own number of inputs. Given that
  list, the simulator behaves like that backend: unknown names are refused
  and total power comes with one value per input of the configuration in
  use. A full-Stokes configuration has half the sections and as many inputs.

  Background:
    Given a backend with the catalogue "fixtures/catalogue.toml"

  Scenario: A configuration in the catalogue is accepted
    When the client sets the configuration to "K2000"
    Then the backend accepts it
    And the configuration is "K2000"

  Scenario: A configuration missing from the catalogue is refused, by name
    When the client sets the configuration to "Q9"
    Then the backend refuses it, saying "cannot find configuration 'Q9'"

  Scenario Outline: Total power has one value per input of <configuration>, which has <inputs>
    Given the backend is configured as "<configuration>"
    When the client asks for the total power
    Then the reply holds <inputs> numbers between 0 and 100
    When the client sends "get-rms"
    Then the reply holds <inputs> numbers between 0 and 1
    When the client asks for the zero level
    Then the reply holds <inputs> numbers between 0 and 0

    Examples:
      | configuration | inputs |
      | K2000         | 2      |
      | K2000S        | 2      |
      | C4            | 4      |
      | TP1           | 1      |
