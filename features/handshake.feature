Feature: The handshake
  Every connection to a DISCOS backend opens with one line from the backend,
  announcing the protocol version it speaks. DISCOS reads this line before it
  sends anything, so a backend that stays silent cannot be driven at all, and
  one that sends more than a line puts every reply one request off. DISCOS
  ignores what the line says; the reference says "!version,ok,1.4".

  Background:
    Given a backend

  @must:greeting
  Scenario: Every client is greeted with one line, and then gets the replies to its own requests
    Given the clients "A" and "B" are connected
    When client "A" asks for the status
    Then the backend accepts it
    When client "B" asks for the status
    Then the backend accepts it

  @should:handshake-version
  Scenario: A new connection is greeted with the protocol version
    When a client connects
    Then the connection opens with "!version,ok,1.4"

  @should:version-reply
  Scenario: Asking for the version gives the same answer
    When the client asks for the protocol version
    Then the backend answers "!version,ok,1.4"

  @should:handshake-version
  Scenario: Every client is greeted, however many connect
    Given the clients "A" and "B" are connected
    Then the connection of client "A" opens with "!version,ok,1.4"
    And the connection of client "B" opens with "!version,ok,1.4"

  @should:extra-arguments
  Scenario: Asking for the version takes no arguments
    When the client sends "version,1.4"
    Then the backend refuses it
