Feature: The handshake
  Every connection to a DISCOS backend opens with the backend announcing the
  protocol version it speaks. DISCOS reads this line before it sends anything,
  so a backend that stays silent, or announces another version, cannot be
  driven at all.

  Background:
    Given a backend

  Scenario: A new connection is greeted with the protocol version
    When a client connects
    Then the connection opens with "!version,ok,1.4"

  Scenario: Asking for the version gives the same answer
    When the client asks for the protocol version
    Then the backend answers "!version,ok,1.4"

  Scenario: Every client is greeted, however many connect
    Given the clients "A" and "B" are connected
    Then the connection of client "A" opens with "!version,ok,1.4"
    And the connection of client "B" opens with "!version,ok,1.4"

  Scenario: Asking for the version takes no arguments
    When the client sends "version,1.4"
    Then the backend refuses it
