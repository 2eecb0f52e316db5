Feature: Robustness against bad bytes
  A backend on a telescope network runs for months; whatever arrives on the
  wire, it must answer and keep going. A line longer than its limit is refused
  and thrown away, bytes that are not UTF-8 are read as latin-1, and line ends
  may be CR LF or a bare LF.

  Background:
    Given a backend

  Scenario: An over-long line is refused and the next request is answered
    When the client sends a line of 200000 bytes
    Then the reply is invalid
    And the reply says "line longer than 65536 bytes"
    When the client sends "version"
    Then the client receives "!version,ok,1.4"

  Scenario: Bytes that are not UTF-8 get an answer
    When the client sends the raw line "?set-filename,caf\xe9\xff\r\n"
    Then the client receives "!set-filename,ok"

  Scenario: A NUL byte gets an answer
    When the client sends the raw line "?set-filename,a\x00b\r\n"
    Then the reply is ok
    When the client sends the raw line "\x00\r\n"
    Then the reply is invalid

  Scenario: A bare line feed ends a line too
    When the client sends the raw line "?version\n"
    Then the client receives "!version,ok,1.4"

  Scenario: A request split across packets is answered once complete
    When the client sends the raw line "?get-con"
    And the client sends the raw line "figuration\r\n"
    Then the reply is ok
