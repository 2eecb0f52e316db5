Feature: Total power
  Total power is what a backend measures: one value per input of the
  configuration in use, read whenever DISCOS measures the system
  temperature (get-tpi), its RMS (get-rms), and the same with the inputs
  terminated, the zero level (get-tp0). DISCOS sends get-tpi with its Tsys
  range, a frequency and a bandwidth ("get-tpi,0,0" unless the operator set
  one), and reads exactly as many values as the configuration has inputs.
  How many inputs a configuration has is the backend's own.

  Background:
    Given a backend
    And the backend is configured as "K2000"

  @must:one-value-per-input
  Scenario: Total power has a number for each input of the configuration in use
    When the client asks for the total power
    Then the backend accepts it
    And the reply holds a number for each input

  @must:tsys-range
  Scenario Outline: Total power over DISCOS's Tsys range has as many numbers (<request>)
    When the client sends "<request>"
    Then the backend accepts it
    And the reply holds as many numbers as the total power has

    Examples:
      | request               |
      | get-tpi,0,0           |
      | get-tpi,22235.1,300   |
      | get-tpi,1e+06,2.5e-05 |

  @must:get-rms
  Scenario: The RMS has a number for each input, as many as the total power
    When the client sends "get-rms"
    Then the backend accepts it
    And the reply holds as many numbers as the total power has

  @should:get-tp0
  Scenario: The zero level has a number for each input, as many as the total power
    When the client asks for the zero level
    Then the backend accepts it
    And the reply holds as many numbers as the total power has

  @should:missing-arguments
  Scenario: A Tsys range of one number is refused
    When the client sends "get-tpi,0"
    Then the backend refuses it

  @should:extra-arguments
  Scenario: A Tsys range of three numbers is refused
    When the client sends "get-tpi,0,0,0"
    Then the backend refuses it

  @should:bad-values
  Scenario: A Tsys range that is not numbers is refused
    When the client sends "get-tpi,low,wide"
    Then the backend refuses it

  @should:extra-arguments
  Scenario: Reading the RMS takes no arguments
    When the client sends "get-rms,0"
    Then the backend refuses it

  @should:extra-arguments
  Scenario: Reading the zero level takes no arguments
    When the client sends "get-tp0,0"
    Then the backend refuses it

  @simulator
  Scenario: The simulator's K2000 has 2 inputs, with total power between 0 and 100, an RMS between 0 and 1 and a zero level of 0
    When the client asks for the total power
    Then the reply holds 2 numbers between 0 and 100
    When the client sends "get-rms"
    Then the reply holds 2 numbers between 0 and 1
    When the client sends "get-tpi,22235.1,300"
    Then the reply holds 2 numbers between 0 and 100
    When the client asks for the zero level
    Then the backend answers "!get-tp0,ok,0,0"

  @simulator
  Scenario: The simulator says what is wrong with a Tsys range
    When the client sends "get-tpi,0"
    Then the backend refuses it, saying "get-tpi takes no arguments or the 2 numbers of a Tsys range (got 1)"
    When the client sends "get-tpi,low,wide"
    Then the backend refuses it, saying "the Tsys range must be numbers in MHz (got 'low')"
