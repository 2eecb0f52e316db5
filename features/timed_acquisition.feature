@fresh
Feature: Timed start and stop
  DISCOS schedules an acquisition ahead: "start at this time, stop at that
  time", so that data begins exactly when the antenna is on source. The
  backend keeps answering while a time is pending; a new start replaces a
  pending start, a new stop a pending stop, and a stop cancels a pending start.

  Background:
    Given a backend

  Scenario: A timed start begins the acquisition at its time
    When the acquisition is started in 200 milliseconds
    Then the backend is not acquiring
    And the backend is acquiring within 2 seconds

  Scenario: A timed stop ends the acquisition at its time
    Given the acquisition is started
    When the acquisition is stopped in 200 milliseconds
    Then the backend is acquiring
    And the backend is not acquiring within 2 seconds

  Scenario: A start and a stop may both be pending
    When the acquisition is started in 100 milliseconds
    And the acquisition is stopped in 400 milliseconds
    Then the backend is acquiring within 2 seconds
    And the backend is not acquiring within 2 seconds

  Scenario: A new timed start replaces the pending one
    When the acquisition is started in 200 milliseconds
    And the acquisition is started in 3600 seconds
    Then the backend stays not acquiring for 500 milliseconds

  Scenario: A timed stop that comes first cancels the pending start
    When the acquisition is started in 600 milliseconds
    And the acquisition is stopped in 100 milliseconds
    Then the backend stays not acquiring for 900 milliseconds

  Scenario: Stopping now cancels a pending start
    When the acquisition is started in 300 milliseconds
    And the client sends "stop"
    Then the reply is ok
    And the backend stays not acquiring for 600 milliseconds

  Scenario: A start time in the past is refused
    When the client sends "start,14309227829708830"
    Then the reply is fail
    And the reply says "is already past"

  Scenario: A stop time in the past is refused
    When the client sends "stop,1430922782.970883"
    Then the reply is fail
    And the reply says "is already past"

  Scenario Outline: A time that is not a time is refused
    When the client sends "<command>,<time>"
    Then the client receives "!<command>,fail,wrong timestamp '<time>'"

    Examples:
      | command | time       |
      | start   | tomorrow   |
      | start   | 12:00      |
      | stop    | -5         |
      | stop    | 1.2.3      |

  Scenario: Times may be given as decimal seconds too
    When the client sends "start,4102444800.5"
    Then the client receives "!start,ok"
