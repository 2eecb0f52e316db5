@broker @fresh @simulator
Feature: Backend events on a message broker
  Monitoring screens and data pipelines at the telescope want to know what a
  backend is doing without asking it over and over. A backend that publishes
  its events puts every change of its state on a message broker the moment it
  happens — the acquisition starting and stopping, a new configuration, a
  section, the integration time, the file name, the feeds, calibration, a
  park, the end of a schedule, a shift — each with the backend's time and the
  request that caused it. Anyone subscribed receives them, in order, within a
  second. The protocol comes first: a broker that goes away never stops the
  backend from answering, and once the broker is back the events flow again.

  Background:
    Given a message broker

  Scenario: A monitoring client connects, logs in and opens a channel
    When a monitoring client connects to the broker with the right password
    Then the monitoring client is connected and logged in
    And the monitoring client can open a channel

  Scenario: A wrong password is refused with a clear reason
    When a monitoring client connects to the broker with a wrong password
    Then the broker refuses the monitoring client, saying the login was refused

  Scenario: Starting and stopping the acquisition reach the subscriber in order
    Given a backend that publishes its events
    And a subscriber
    When the client starts the acquisition
    And the client stops the acquisition
    Then the subscriber receives these events in order within 1 second:
      | acquisition started |
      | acquisition stopped |

  Scenario: A timed start is announced when it is accepted and when it fires
    Given a backend that publishes its events
    And a subscriber
    When the client starts the acquisition in 300 milliseconds
    Then the subscriber receives the event "acquisition start scheduled" within 1 second
    And the subscriber receives the event "acquisition started" within 1 second
    And the event carries the backend's time and the request that caused it

  Scenario: A new configuration reaches the subscriber with what caused it
    Given a backend that publishes its events
    And a subscriber
    When the client sets the configuration to "K2000"
    Then the subscriber receives the event "configuration set" within 1 second
    And the event says the configuration is "K2000"
    And the event carries the backend's time and the request that caused it

  Scenario: Every kind of change has its event
    Given a backend that publishes its events
    And a subscriber
    When the client sets the configuration to "K2000"
    And the client sets the bandwidth of section 0 to "500"
    And the client sets the integration time to 100 milliseconds
    And the client sets the file name to "scan-001.fits"
    And the client enables the feeds 1 and 0
    And the client switches the calibration mark on
    And the client sets the shift to 3
    And the client starts the acquisition
    And the client stops the acquisition
    And the client asks the backend to convert the data
    And the client ends the schedule
    And the client parks the backend
    Then the subscriber receives these events in order within 1 second:
      | configuration set   |
      | section set         |
      | integration set     |
      | filename set        |
      | feeds enabled       |
      | calibration on      |
      | shift set           |
      | acquisition started |
      | acquisition stopped |
      | data converted      |
      | schedule ended      |
      | backend parked      |

  Scenario: A refused request changes nothing and tells nothing
    Given a backend that publishes its events
    And a subscriber
    When the client stops the acquisition
    Then the backend refuses it
    And the subscriber receives nothing for 300 milliseconds

  Scenario: Two subscribers both receive every event
    Given a backend that publishes its events
    And the subscribers "monitor" and "archive"
    When the client starts the acquisition
    Then the subscriber "monitor" receives the event "acquisition started" within 1 second
    And the subscriber "archive" receives the event "acquisition started" within 1 second

  @serial @restarts-broker
  Scenario: The backend keeps answering while the broker goes away, and events resume
    Given a backend that publishes its events
    And a subscriber
    When the broker goes away and comes back while the client keeps working
    Then the client was answered at once throughout
    And the subscriber is subscribed again within 10 seconds
    When the client starts the acquisition
    Then the subscriber receives the event "acquisition started" within 10 seconds
