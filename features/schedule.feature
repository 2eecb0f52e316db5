Feature: Schedule commands
  Commands added in later versions of the protocol: converting the acquired
  data (1.2), ending a schedule, parking the backend, and shifting (1.4).
  DISCOS sends them without arguments, except set-shift, which takes exactly
  one whole number.

  Background:
    Given a backend

  Scenario Outline: Each command is accepted without arguments
    When the client sends "<command>"
    Then the client receives "!<command>,ok"

    Examples:
      | command      |
      | convert-data |
      | end-schedule |
      | backend-park |

  Scenario Outline: Each command refuses arguments
    When the client sends "<command>,now"
    Then the client receives "!<command>,fail,<command> takes no arguments (got 1)"

    Examples:
      | command      |
      | convert-data |
      | end-schedule |
      | backend-park |

  Scenario: A shift is accepted
    When the client sends "set-shift,-12"
    Then the client receives "!set-shift,ok"

  Scenario Outline: A shift is exactly one whole number
    When the client sends "<request>"
    Then the client receives "<reply>"

    Examples:
      | request       | reply                                                        |
      | set-shift     | !set-shift,fail,set-shift needs exactly one argument (got 0) |
      | set-shift,1,2 | !set-shift,fail,set-shift needs exactly one argument (got 2) |
      | set-shift,1.5 | !set-shift,fail,shift must be an integer number (got '1.5')  |
