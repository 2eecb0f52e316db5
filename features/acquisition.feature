Feature: Starting and stopping an acquisition
  An observation starts and stops the backend's acquisition. The backend
  must refuse what makes no sense, a start while already acquiring or a stop
  while idle, so that DISCOS notices when it and the backend disagree.

  Background:
    Given a backend
    And the backend is not acquiring

  Scenario: Starting now makes the backend acquire
    When the client sends "start"
    Then the client receives "!start,ok"
    And the backend is acquiring

  Scenario: Stopping now ends the acquisition
    Given the acquisition is started
    When the client sends "stop"
    Then the client receives "!stop,ok"
    And the backend is not acquiring

  Scenario: Starting twice is refused
    Given the acquisition is started
    When the client sends "start"
    Then the client receives "!start,fail,already acquiring"

  Scenario: Stopping an idle backend is refused
    When the client sends "stop"
    Then the client receives "!stop,fail,not acquiring"

  Scenario: Start takes at most a time
    When the client sends "start,1,2"
    Then the reply is fail
    And the reply says "takes at most 1 argument"
