Feature: Malformed lines and unknown commands
  Every line gets exactly one answer, even a broken one: a client that waits
  for a reply must never wait forever. A line that is not a message is
  rejected as malformed ("invalid"); a well-formed request for a command the
  backend does not know is refused ("fail"), naming the command. The lines
  here are written as they travel: \r\n ends a line, and \\ is one backslash.

  Background:
    Given a backend

  @should:unknown-command
  Scenario: An unknown command is refused, naming the command
    When the client sends "point-antenna,M31"
    Then the backend answers "!point-antenna,fail,invalid command 'point-antenna'"

  @should:malformed-lines
  Scenario: A line without the leading question mark is malformed
    When the client sends the raw line "status\r\n"
    Then the backend rejects the line as malformed

  @should:escapes
  Scenario: A backslash before a letter other than t is malformed, and the reply carries the command's name
    When the client sends the raw line "?set-filename,a\\qb\r\n"
    Then the backend rejects the line as malformed, under the name "set-filename"

  @should:escapes
  Scenario: A line that ends with a lone backslash is malformed
    When the client sends the raw line "?set-filename,a\\\r\n"
    Then the backend rejects the line as malformed, under the name "set-filename"

  @should:malformed-lines
  Scenario: An empty line is malformed, and its reply is named "undefined"
    When the client sends the raw line "\r\n"
    Then the backend rejects the line as malformed, under the name "undefined"

  @should:malformed-lines
  Scenario Outline: A command name that <what is wrong> is malformed
    When the client sends the raw line "<line>\r\n"
    Then the backend rejects the line as malformed

    Examples:
      | line     | what is wrong          |
      | ?1status | starts with a digit    |
      | ?get tpi | holds a space          |
      | ?get_tpi | holds an underscore    |
      | ?        | is missing altogether  |

  @should:malformed-lines
  Scenario: A reply sent to the backend is rejected as malformed, under its name
    When the client sends the raw line "!status,ok\r\n"
    Then the backend rejects the line as malformed, under the name "status"

  @should:malformed-lines
  Scenario: After a malformed line the connection goes on
    When the client sends the raw line "nonsense\r\n"
    And the client asks for the protocol version
    Then the backend answers "!version,ok,1.4"

  @simulator
  Scenario Outline: The simulator says what is wrong with a malformed line (<line>)
    When the client sends the raw line "<line>\r\n"
    Then the backend rejects the line as malformed, saying "<reason>"

    Examples:
      | line       | reason                                                                                                         |
      | status     | syntax error: a message starts with '?' (request) or '!' (reply) and not with 's'                              |
      | ?1status   | syntax error: a command name starts with a letter, not '1'                                                     |
      | ?get tpi   | syntax error: ' ' after 'get': a command name holds only letters and digits and '-' and arguments follow a comma |
      | ?          | syntax error: the command name is missing                                                                      |
      | !status,ok | a reply ('!') was sent to the server; requests start with '?'                                                  |

  @simulator
  Scenario: The simulator names the escape it does not know
    When the client sends the raw line "?set-filename,a\\qb\r\n"
    Then the backend rejects the line as malformed, saying "syntax error: unknown escape '\q': a backslash escapes only a backslash or a comma or 't' (tab)"

  @simulator
  Scenario: The simulator says a line ends with a lone backslash
    When the client sends the raw line "?set-filename,a\\\r\n"
    Then the backend rejects the line as malformed, saying "syntax error: the line ends with a lone backslash"
