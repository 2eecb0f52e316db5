Feature: Malformed lines and unknown commands
  Every line gets exactly one answer, even a broken one: a client that waits
  for a reply must never wait forever. A line that is not a message is
  answered "invalid" with what is wrong with it; a well-formed request for a
  command the backend does not know is answered "fail".

  Background:
    Given a backend

  Scenario: An unknown command fails with its name
    When the client sends "point-antenna,M31"
    Then the client receives "!point-antenna,fail,invalid command 'point-antenna'"

  Scenario: A line without the question mark is invalid
    When the client sends the raw line "status\r\n"
    Then the reply is invalid
    And the reply says "starts with '?'"
    And the client receives "!status,invalid,syntax error: a message starts with '?' (request) or '!' (reply) and not with 's'"

  Scenario: An unknown escape is invalid
    When the client sends the raw line "?set-filename,a\\qb\r\n"
    Then the client receives "!set-filename,invalid,syntax error: unknown escape '\\q': a backslash escapes only a backslash or a comma or 't' (tab)"

  Scenario: A line ending with a lone backslash is invalid
    When the client sends the raw line "?set-filename,a\\\r\n"
    Then the reply is invalid
    And the reply says "ends with a lone backslash"

  Scenario: An empty line is invalid
    When the client sends the raw line "\r\n"
    Then the client receives "!undefined,invalid,syntax error: empty line"

  Scenario Outline: A command name is letters, digits and dashes, starting with a letter
    When the client sends the raw line "<line>\r\n"
    Then the reply is invalid
    And the reply says "<reason>"

    Examples:
      | line       | reason                          |
      | ?1status   | starts with a letter            |
      | ?get tpi   | a command name holds only       |
      | ?get_tpi   | a command name holds only       |
      | ?          | the command name is missing     |

  Scenario: A reply sent to the backend is invalid
    When the client sends the raw line "!status,ok\r\n"
    Then the client receives "!status,invalid,a reply ('!') was sent to the server; requests start with '?'"

  Scenario: After a malformed line the connection goes on
    When the client sends the raw line "nonsense\r\n"
    And the client sends "version"
    Then the client receives "!version,ok,1.4"
