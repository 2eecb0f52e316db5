Feature: Starting and stopping an acquisition
  An observation starts and stops the backend's acquisition: DISCOS sends a
  start at every subscan's beginning and a stop at its end, and a second
  stop when the scan ends, to a backend that is no longer acquiring. That
  second stop must be answered and change nothing. The reference refuses a
  start while acquiring and a stop while idle; DISCOS does not rely on it.

  Background:
    Given a backend
    And the backend is not acquiring

  @must:start-stop
  Scenario: Starting now makes the backend acquire
    When the client starts the acquisition
    Then the backend accepts it
    And the backend is acquiring

  @must:start-stop
  Scenario: Stopping now ends the acquisition
    Given the acquisition is started
    When the client stops the acquisition
    Then the backend accepts it
    And the backend is not acquiring

  @must:idle-stop
  Scenario: A stop while nothing acquires is answered, and changes nothing, as DISCOS's second stop needs
    When the client stops the acquisition
    Then the backend answers the line
    And the backend is not acquiring
    When the client starts the acquisition
    Then the backend accepts it
    And the backend is acquiring

  @should:start-while-acquiring
  Scenario: Starting while already acquiring is refused, and the acquisition goes on
    Given the acquisition is started
    When the client starts the acquisition
    Then the backend refuses it
    And the backend is acquiring

  @should:idle-stop-refused
  Scenario: Stopping a backend that is not acquiring is refused
    When the client stops the acquisition
    Then the backend refuses it
    And the backend is not acquiring

  @should:extra-arguments
  Scenario: A start with two times is refused, since a start takes at most one
    When the client sends "start,1,2"
    Then the backend refuses it

  @simulator
  Scenario: The simulator says why it refuses a start or a stop
    Given the acquisition is started
    When the client starts the acquisition
    Then the backend refuses it, saying "already acquiring"
    When the client stops the acquisition
    And the client stops the acquisition
    Then the backend refuses it, saying "not acquiring"
    When the client sends "start,1,2"
    Then the backend refuses it, saying "start takes at most 1 argument (got 2)"
