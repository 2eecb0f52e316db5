Feature: Calibration mark
  Switching the calibration mark on injects a known signal so the data can be
  calibrated; the interleave says how many samples pass between marks.
  DISCOS sends "cal-on" alone, or with a whole number of samples, in its
  observing procedures, and stops the procedure when it is refused. A
  negative or non-numeric interleave must be refused, not guessed.

  Background:
    Given a backend

  @must:cal-on
  Scenario: The calibration mark can be switched on
    When the client switches the calibration mark on
    Then the backend accepts it

  @must:cal-on
  Scenario Outline: The mark can be interleaved by a whole number of samples, zero included (<interleave>)
    When the client switches the calibration mark on with an interleave of <interleave>
    Then the backend accepts it

    Examples:
      | interleave |
      | 0          |
      | 10         |

  @should:fixed-phrases
  Scenario Outline: An interleave that is <what is wrong> is refused, saying so (<interleave>)
    When the client switches the calibration mark on with an interleave of <interleave>
    Then the backend refuses it, saying "interleave samples must be a positive int"

    Examples:
      | interleave | what is wrong      |
      | -1         | negative           |
      | often      | not a number       |
      | 2.5        | not a whole number |

  @should:extra-arguments
  Scenario: Switching the mark on takes at most one interleave
    When the client sends "cal-on,1,2"
    Then the backend refuses it

  @simulator @embedded
  Scenario: The simulator keeps the interleave it was given
    When the client switches the calibration mark on with an interleave of 10
    Then the backend accepts it
    And the simulator's calibration interleave is 10
