Feature: Calibration mark
  Switching the calibration mark on injects a known signal so the data can be
  calibrated; the interleave says how many samples pass between marks. A
  negative or non-numeric interleave must be refused, not guessed.

  Background:
    Given a backend

  Scenario: The calibration mark can be switched on
    When the client sends "cal-on"
    Then the client receives "!cal-on,ok"

  Scenario: The calibration mark can be interleaved
    When the client sends "cal-on,10"
    Then the client receives "!cal-on,ok"

  Scenario Outline: An interleave must be a whole number, zero or more
    When the client sends "cal-on,<interleave>"
    Then the reply is fail
    And the reply says "interleave samples must be a positive int"

    Examples:
      | interleave |
      | -1         |
      | often      |
      | 2.5        |

  Scenario: Calibration takes at most one interleave
    When the client sends "cal-on,1,2"
    Then the reply is fail
