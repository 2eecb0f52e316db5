Feature: Status and time
  DISCOS polls the backend's status during an observation to know that it is
  alive and whether it is acquiring, and reads the backend's clock. Of the
  status it reads only the third field, 0 or 1; of a time, only the whole
  Unix seconds before the dot. A status reply that is late, malformed or
  wrong about acquisition makes the telescope record data under the wrong
  assumptions.

  Background:
    Given a backend

  @must:acquiring-flag
  Scenario: Status reports the backend's time, its state and whether it acquires
    When the client asks for the status
    Then the backend accepts it
    And the reply holds the current time, a state and whether the backend acquires

  @fresh @must:acquiring-flag
  Scenario: A backend nobody has started is not acquiring
    Then the backend is not acquiring

  @should:extra-arguments
  Scenario: Status takes no arguments
    When the client sends "status,now"
    Then the backend refuses it

  @must:unix-seconds
  Scenario: The backend's clock is in Unix seconds, as DISCOS reads it
    When the client asks for the time
    Then the backend accepts it
    And the reply holds the current time in Unix seconds

  @should:time-precision
  Scenario: The backend's clock can be read, to the microsecond
    When the client asks for the time
    Then the backend accepts it
    And the reply holds the current time

  @should:extra-arguments
  Scenario: Time takes no arguments
    When the client sends "time,utc"
    Then the backend refuses it

  @simulator
  Scenario: The simulator's state is "ok", and it says what is wrong with extra arguments
    When the client asks for the status
    Then the state is "ok"
    When the client sends "status,now"
    Then the backend refuses it, saying "status takes no arguments (got 1)"
