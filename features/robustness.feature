Feature: Robustness against bad bytes
  A backend on a telescope network runs for months; whatever arrives on the
  wire, it must answer and keep going. A line longer than the backend's limit
  is rejected and thrown away, bytes that are not UTF-8 get an answer, and
  lines may end with CR LF or with a bare LF. The lines here are written as
  they travel: \r\n ends a line, \xe9 is the byte E9.

  Background:
    Given a backend

  @should:line-limit
  Scenario: A line longer than any backend's limit is rejected, and the next request is answered
    When the client sends a line of 2 megabytes
    Then the backend rejects the line as malformed
    When the client asks for the protocol version
    Then the backend answers "!version,ok,1.4"

  @should:non-utf8
  Scenario: Bytes that are not UTF-8 get an answer, and the connection goes on
    When the client sends the raw line "?set-filename,caf\xe9\xff\r\n"
    Then the backend answers the line
    When the client asks for the protocol version
    Then the backend answers "!version,ok,1.4"

  @should:non-utf8
  Scenario: A NUL byte gets an answer, and the connection goes on
    When the client sends the raw line "?set-filename,a\x00b\r\n"
    Then the backend answers the line
    When the client sends the raw line "\x00\r\n"
    Then the backend answers the line
    When the client asks for the protocol version
    Then the backend answers "!version,ok,1.4"

  @should:bare-lf
  Scenario: A bare line feed ends a line too
    When the client sends the raw line "?version\n"
    Then the backend answers "!version,ok,1.4"

  @must:split-lines
  Scenario: A request split across packets is answered once complete
    When the client sends the raw line "?get-con"
    And the client sends the raw line "figuration\r\n"
    Then the backend accepts it

  @simulator
  Scenario: The simulator's limit is 64 KiB, and it says so
    When the client sends a line of 200000 bytes
    Then the backend rejects the line as malformed, saying "line longer than 65536 bytes; it was discarded"

  @simulator @embedded
  Scenario: The simulator reads bytes that are not UTF-8 as latin-1
    When the client sends the raw line "?set-filename,caf\xe9\xff\r\n"
    Then the backend accepts it
    And the simulator's file name is "caféÿ"
