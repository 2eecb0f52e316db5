@proxy
Feature: The link to the backend is slow, or hands replies over in odd pieces
  On a real network a reply may take its time, and TCP hands a reader
  whatever has arrived: part of a line, or several lines at once. DISCOS
  reads a reply a byte at a time until its line feed and waits up to 100
  seconds for it (Skarab 900), so a slow or sliced reply must still be
  read whole, and one later than the reader's patience must not be taken
  for the answer to the next request.

  These scenarios put a proxy between the client and the backend, the link
  to the backend, and make it misbehave. They check the proxy and what a
  client sees through it, not the backend: they are tagged @proxy, which
  keeps them out of a backend's conformance (they run on the embedded
  target, and on any other with --tags @proxy).

  Background:
    Given a backend

  Scenario: A reply the link holds back reaches the client late, and whole
    Given the link to the backend delays every reply to "get-tpi" by 1 second
    And the backend is configured as "K2000"
    When the client asks for the total power
    Then the reply holds a number for each input
    And the reply took at least 1 second

  Scenario: A reply later than the client's patience has not come when it gives up
    Given the link to the backend delays every reply to "get-tpi" by 1 second
    And the backend is configured as "K2000"
    When the client sends "get-tpi" and waits at most 200 milliseconds for the reply
    Then no reply has come

  Scenario: Requests held back on their way reach the backend in order
    Given the link to the backend delays every request by 300 milliseconds
    When the client sends, without waiting for replies:
      | request                 |
      | set-configuration,K2000 |
      | get-configuration       |
    Then the client receives, in order:
      | reply                       |
      | !set-configuration,ok       |
      | !get-configuration,ok,K2000 |
    And the reply took at least 300 milliseconds

  Scenario: Replies cut into pieces of a few bytes are put back together
    Given the link to the backend cuts every reply into pieces of 3 bytes, 2 milliseconds apart
    When the client sets the configuration to "K2000"
    Then the backend accepts it
    When the client asks for the configuration
    Then the backend answers "!get-configuration,ok,K2000"
    And the link has written the replies in more pieces than there are replies

  Scenario: Replies merged into one piece are still read one by one
    Given the link to the backend merges every 3 replies into one piece
    When the client sends, without waiting for replies:
      | request |
      | version |
      | version |
      | version |
    Then the client receives, in order:
      | reply           |
      | !version,ok,1.4 |
      | !version,ok,1.4 |
      | !version,ok,1.4 |
    And the link has written the replies in fewer pieces than there are replies
