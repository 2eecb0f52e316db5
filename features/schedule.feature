Feature: Schedule commands
  Commands added in later versions of the protocol: converting the acquired
  data (1.2), ending a schedule, parking the backend, and shifting (1.4).
  They take no arguments, except the shift, which is exactly one whole
  number. Of DISCOS's components only Skarab sends them (never
  convert-data); it reports a refused shift, and lets the others pass.

  Background:
    Given a backend

  @should:schedule-commands
  Scenario: Converting the acquired data is accepted
    When the client asks the backend to convert the data
    Then the backend accepts it

  @should:schedule-commands
  Scenario: Ending the schedule is accepted
    When the client ends the schedule
    Then the backend accepts it

  @should:schedule-commands
  Scenario: Parking the backend is accepted
    When the client parks the backend
    Then the backend accepts it

  @should:extra-arguments
  Scenario Outline: Each of these commands refuses an argument (<command>)
    When the client sends "<command>,now"
    Then the backend refuses it

    Examples:
      | command      |
      | convert-data |
      | end-schedule |
      | backend-park |

  @must:set-shift
  Scenario: A shift of a whole number is accepted
    When the client sets the shift to -12
    Then the backend accepts it

  @should:bad-values
  Scenario: A shift that is not a whole number is refused
    When the client sets the shift to 1.5
    Then the backend refuses it

  @should:missing-arguments
  Scenario: A shift is exactly one number: none is refused
    When the client sends "set-shift"
    Then the backend refuses it

  @should:extra-arguments
  Scenario: A shift is exactly one number: two are refused
    When the client sends "set-shift,1,2"
    Then the backend refuses it

  @simulator @embedded
  Scenario: The simulator keeps the shift it was given
    When the client sets the shift to -12
    Then the backend accepts it
    And the simulator's shift is -12

  @simulator
  Scenario Outline: The simulator says what is wrong with a request it refuses (<request>)
    When the client sends "<request>"
    Then the backend refuses it, saying "<reason>"

    Examples:
      | request          | reason                                        |
      | convert-data,now | convert-data takes no arguments (got 1)       |
      | end-schedule,now | end-schedule takes no arguments (got 1)       |
      | backend-park,now | backend-park takes no arguments (got 1)       |
      | set-shift        | set-shift needs exactly one argument (got 0)  |
      | set-shift,1,2    | set-shift needs exactly one argument (got 2)  |
      | set-shift,1.5    | shift must be an integer number (got '1.5')   |
