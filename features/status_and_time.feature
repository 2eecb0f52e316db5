Feature: Status and time
  DISCOS polls the backend's status during an observation to know that it is
  alive and whether it is acquiring, and compares the backend's clock with its
  own. A status reply that is late, malformed or wrong about acquisition makes
  the telescope record data under the wrong assumptions.

  Background:
    Given a backend

  Scenario: Status reports the backend's time, its state and whether it acquires
    When the client asks for the status
    Then the backend accepts it
    And the reply holds the current time, a state and whether the backend acquires

  @fresh
  Scenario: A backend nobody has started is not acquiring
    Then the backend is not acquiring

  Scenario: Status takes no arguments
    When the client sends "status,now"
    Then the backend refuses it

  Scenario: The backend's clock can be read, to the microsecond
    When the client asks for the time
    Then the backend accepts it
    And the reply holds the current time

  Scenario: Time takes no arguments
    When the client sends "time,utc"
    Then the backend refuses it

  @simulator
  Scenario: The simulator's state is "ok", and it says what is wrong with extra arguments
    When the client asks for the status
    Then the state is "ok"
    When the client sends "status,now"
    Then the backend refuses it, saying "status takes no arguments (got 1)"
