Feature: One backend, many clients
  DISCOS, an engineer's console and a monitoring script may all talk to the
  backend at once. They share one backend: what one client sets, every other
  client sees. DISCOS relies on it itself: after a broken connection it
  connects again and does not configure the backend anew.

  Background:
    Given a backend
    And the clients "A" and "B" are connected

  @must:shared-state
  Scenario: A configuration set by one client is the one another reads
    When client "A" sets the configuration to "K2000"
    Then client "B" sees the configuration "K2000"

  @must:shared-state
  Scenario: An acquisition started by one client is stopped by another
    Given the backend is not acquiring
    When client "A" starts the acquisition
    Then the backend accepts it
    And the backend is acquiring
    When client "B" stops the acquisition
    Then the backend accepts it
    And the backend is not acquiring

  @should:start-while-acquiring
  Scenario: An acquisition started by one client cannot be started again by another
    Given the backend is not acquiring
    When client "A" starts the acquisition
    And client "B" starts the acquisition
    Then the backend refuses it
    When client "B" stops the acquisition
    Then the backend accepts it

  @must:shared-state
  Scenario: An integration time set by one client is the one another reads
    When client "B" sets the integration time to 40 milliseconds
    Then client "A" sees an integration time of 40 milliseconds
