Feature: Total power
  Total power is what a backend measures: one value per section of the
  configuration in use, read many times a second during a scan (get-tpi), and
  the same with the inputs terminated, the zero level (get-tp0). How many
  sections a configuration has is the backend's own.

  Background:
    Given a backend
    And the backend is configured as "K2000"

  Scenario: Total power has a number for each section of the configuration in use
    When the client asks for the total power
    Then the backend accepts it
    And the reply holds a number for each section

  Scenario: The zero level has a number for each section, as many as the total power
    When the client asks for the zero level
    Then the backend accepts it
    And the reply holds as many numbers as the total power has

  Scenario: Reading total power takes no arguments
    When the client sends "get-tpi,0"
    Then the backend refuses it

  Scenario: Reading the zero level takes no arguments
    When the client sends "get-tp0,0"
    Then the backend refuses it

  @simulator
  Scenario: The simulator's K2000 has 2 sections, with total power between 0 and 100 and a zero level of 0
    When the client asks for the total power
    Then the reply holds 2 numbers between 0 and 100
    When the client asks for the zero level
    Then the backend answers "!get-tp0,ok,0,0"
