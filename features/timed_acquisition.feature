Feature: Timed start and stop
  DISCOS schedules an acquisition ahead: "start at this time, stop at that
  time", so that data begins exactly when the antenna is on source. The
  backend keeps answering while a time is pending; a new start replaces a
  pending start, a new stop a pending stop, and a stop cancels a pending
  start. Times travel as a count of 100-nanosecond ticks since 1970 (what
  DISCOS sends) or, when a scenario says so, as decimal seconds. The times
  are seconds apart, so that a loaded machine does not miss them; a check
  that comes after a time it was meant to precede says so when it fails.

  Background:
    Given a backend

  @fresh @should:timed-start-stop
  Scenario: A timed start begins the acquisition at its time
    When the acquisition is started in 2 seconds
    Then the backend is not acquiring
    And the backend is acquiring within 5 seconds

  @fresh @should:timed-start-stop
  Scenario: A timed stop ends the acquisition at its time
    Given the acquisition is started
    When the acquisition is stopped in 2 seconds
    Then the backend is acquiring
    And the backend is not acquiring within 5 seconds

  @fresh @should:timed-start-stop
  Scenario: A start and a stop may both be pending, and both happen
    When the acquisition is started in 1 second
    And the acquisition is stopped in 3 seconds
    Then the backend is acquiring within 5 seconds
    And the backend is not acquiring within 5 seconds

  @fresh @should:timed-start-stop
  Scenario: A new timed start replaces the pending one
    When the acquisition is started in 2 seconds
    And the acquisition is started in 1 hour
    Then the backend stays not acquiring for 3 seconds

  @fresh @should:timed-start-stop
  Scenario: A timed stop that comes first cancels the pending start
    When the acquisition is started in 3 seconds
    And the acquisition is stopped in 1 second
    Then the backend stays not acquiring for 4 seconds

  @fresh @should:timed-start-stop
  Scenario: Stopping now cancels a pending start
    When the acquisition is started in 2 seconds
    And the client stops the acquisition
    Then the backend accepts it
    And the backend stays not acquiring for 3 seconds

  @should:timestamps
  Scenario: A start time in the past is refused
    When the client starts the acquisition at a time one hour ago
    Then the backend refuses it

  @should:timestamps
  Scenario: A stop time in the past is refused, in decimal seconds too
    When the client stops the acquisition at a time one hour ago, written in decimal seconds
    Then the backend refuses it

  @should:timestamps
  Scenario: A negative tick count is a time long past, not a malformed time
    When the client starts the acquisition at "-5"
    Then the backend refuses it
    And the reason is not "wrong timestamp '-5'"

  @should:fixed-phrases
  Scenario Outline: A time that is not a time is refused, naming it (<command> at "<time>")
    When the client <command> the acquisition at "<time>"
    Then the backend refuses it, saying "wrong timestamp '<time>'"

    Examples:
      | command | time     |
      | starts  | tomorrow |
      | starts  | 12:00    |
      | stops   | 1.2.3    |
      | stops   |          |

  @should:timestamps
  Scenario: A start time may be written in decimal seconds, and an immediate stop cancels it
    When the client starts the acquisition at midnight on 1 January 2100, written in decimal seconds
    Then the backend accepts it
    And the backend is not acquiring
    When the client stops the acquisition
    Then the backend accepts it

  @simulator
  Scenario: The simulator says a start time is already past
    When the client starts the acquisition at a time one hour ago
    Then the reply says "is already past"
