Feature: Status and time
  DISCOS polls the backend's status during an observation to know that it is
  alive and whether it is acquiring, and compares the backend's clock with its
  own. A status reply that is late, malformed or wrong about acquisition makes
  the telescope record data under the wrong assumptions.

  Background:
    Given a backend

  Scenario: Status reports the time, a healthy state and whether it acquires
    When the client sends "status"
    Then the reply is ok
    And the reply has 3 values
    And the reply carries the current time

  @fresh
  Scenario: A backend that was never started is not acquiring
    Then the backend is not acquiring

  Scenario: Status takes no arguments
    When the client sends "status,now"
    Then the client receives "!status,fail,status takes no arguments (got 1)"

  Scenario: The backend's clock can be read
    When the client sends "time"
    Then the reply is ok
    And the reply has 1 value
    And the reply carries the current time

  Scenario: Time takes no arguments
    When the client sends "time,utc"
    Then the reply is fail
    And the reply says "takes no arguments"
