Feature: One backend, many clients
  DISCOS, an engineer's console and a monitoring script may all talk to the
  backend at once. They share one backend: what one client sets, every other
  client sees.

  Background:
    Given a backend
    And the clients "A" and "B" are connected

  Scenario: A configuration set by one client is the one another reads
    When client "A" sets the configuration to "K2000"
    Then client "B" sees the configuration "K2000"

  Scenario: An acquisition started by one client cannot be started again by another
    Given the backend is not acquiring
    When client "A" starts the acquisition
    And client "B" starts the acquisition
    Then the backend refuses it
    When client "B" stops the acquisition
    Then the backend accepts it

  Scenario: An integration time set by one client is the one another reads
    When client "B" sets the integration time to 40 milliseconds
    Then client "A" sees an integration time of 40 milliseconds
