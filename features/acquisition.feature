Feature: Starting and stopping an acquisition
  An observation starts and stops the backend's acquisition. The backend
  must refuse what makes no sense, a start while already acquiring or a stop
  while idle, so that DISCOS notices when it and the backend disagree.

  Background:
    Given a backend
    And the backend is not acquiring

  Scenario: Starting now makes the backend acquire
    When the client starts the acquisition
    Then the backend accepts it
    And the backend is acquiring

  Scenario: Stopping now ends the acquisition
    Given the acquisition is started
    When the client stops the acquisition
    Then the backend accepts it
    And the backend is not acquiring

  Scenario: Starting while already acquiring is refused, and the acquisition goes on
    Given the acquisition is started
    When the client starts the acquisition
    Then the backend refuses it
    And the backend is acquiring

  Scenario: Stopping a backend that is not acquiring is refused
    When the client stops the acquisition
    Then the backend refuses it
    And the backend is not acquiring

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
