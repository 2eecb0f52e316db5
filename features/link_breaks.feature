@proxy
Feature: The link to the backend breaks
  A backend that crashes, a switch that reboots, a cable pulled: the
  connection ends with or without a reply, cleanly or with a reset, or
  stays open and silent. DISCOS reconnects when its connection is gone,
  but it does not read the greeting again, so every reply after a
  reconnection is taken for the answer to the request before it.

  These scenarios make the link to the backend (a proxy in front of it)
  break in each of those ways and say what a client sees. They are about
  the proxy, not the backend, and are tagged @proxy (see
  link_timing.feature).

  Background:
    Given a backend

  Scenario: The link drops the connection after a number of requests
    Given the link to the backend drops the connection after 2 requests
    When the client asks for the protocol version
    And the client asks for the time
    Then the reply holds the current time
    When the client sends "version", whatever comes back
    Then the connection closes before a reply comes

  Scenario: A reply cut in the middle is no reply
    Given the link to the backend drops the connection in the middle of the reply to "get-configuration"
    And the backend is configured as "K2000"
    When the client sends "get-configuration", whatever comes back
    Then the connection closes in the middle of a reply

  Scenario: The link resets the connection instead of passing the reply
    Given the link to the backend resets the connection instead of the reply to "set-configuration"
    When the client sends "set-configuration,K2000", whatever comes back
    Then the connection is reset

  Scenario: The link resets the connection before the backend sees the request
    Given the link to the backend resets the connection when the client sends "start"
    When the client sends "start", whatever comes back
    Then the connection is reset

  Scenario: A link that stops answering keeps the connection open and silent
    Given the link to the backend stops answering at the reply to "time"
    When the client asks for the protocol version
    Then the backend answers "!version,ok,1.4"
    When the client sends "time" and waits at most 200 milliseconds for the reply
    Then no reply has come
    When the client sends "version" and waits at most 200 milliseconds for the reply
    Then no reply has come

  Scenario: Garbage instead of a reply, then the end of the connection
    Given the link to the backend answers "status" with garbage and closes the connection
    When the client sends "status", whatever comes back
    Then a line that is not a reply comes, and then the connection closes

  Scenario: While the link is down nothing answers, and then it comes back
    Given the link to the backend goes down for 1 second
    When the client tries to connect
    Then the connection is refused
    And the client can connect again within 5 seconds
    When the client asks for the protocol version
    Then the backend answers "!version,ok,1.4"

  Scenario: A client connected when the link goes down loses its connection
    Given a link to the backend
    And the client is connected
    When the link to the backend goes down
    And the client sends "status", whatever comes back
    Then the connection is lost
    When the link to the backend comes back
    Then the client can connect again within 5 seconds
