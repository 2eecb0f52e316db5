Feature: One backend, many clients
  DISCOS, an engineer's console and a monitoring script may all talk to the
  backend at once. They share one backend: what one client sets, every other
  client sees.

  Background:
    Given a backend
    And the clients "A" and "B" are connected

  Scenario: A configuration set by one client is seen by another
    When client "A" sends "set-configuration,K2000"
    And client "B" sends "get-configuration"
    Then client "B" receives "!get-configuration,ok,K2000"

  Scenario: An acquisition started by one client cannot be started by another
    Given the backend is not acquiring
    When client "A" sends "start"
    And client "B" sends "start"
    Then client "B" receives "!start,fail,already acquiring"
    When client "B" sends "stop"
    Then client "B" receives "!stop,ok"

  Scenario: An integration time set by one client is seen by another
    When client "B" sends "set-integration,40"
    And client "A" sends "get-integration"
    Then client "A" receives "!get-integration,ok,40"
