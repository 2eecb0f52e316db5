Feature: Enabled feeds
  A multi-feed receiver sends several feeds to the backend; set-enable picks
  the two to acquire, for nodding between them. Feeds are numbered from 0;
  which feeds a backend has is its own (DISCOS sends 0 to 6 for the seven
  feeds of the K-band receiver, and Skarab "7,7"). A feed that is not there
  is refused.

  Background:
    Given a backend

  @must:set-enable
  Scenario: The first feed, feed 0, can be enabled on any backend
    When the client enables the feeds 0 and 0
    Then the backend accepts it

  @should:hardware-limits
  Scenario Outline: A feed the backend does not have, <what is wrong>, is refused (<feed1> and <feed2>)
    When the client enables the feeds <feed1> and <feed2>
    Then the backend refuses it

    Examples:
      | feed1 | feed2   | what is wrong                  |
      | -1    | 0       | below 0                        |
      | 0     | 1000000 | beyond what any backend has    |

  @should:bad-values
  Scenario Outline: A feed <what is wrong> is refused (<feed1> and <feed2>)
    When the client enables the feeds <feed1> and <feed2>
    Then the backend refuses it

    Examples:
      | feed1 | feed2   | what is wrong                  |
      | a     | 1       | that is not a number           |
      | 0     | 0.5     | that is not a whole number     |

  @should:missing-arguments
  Scenario: Enabling feeds takes two of them, not one
    When the client sends "set-enable,1"
    Then the backend refuses it

  @should:extra-arguments
  Scenario: Enabling feeds takes two of them, not three
    When the client sends "set-enable,0,0,0"
    Then the backend refuses it

  @simulator @embedded
  Scenario: The simulator's feeds are 0 to 7, as DISCOS sends them
    When the client enables the feeds 0 and 3
    Then the backend accepts it
    And the simulator's feeds are 0 and 3
    When the client enables the feeds 7 and 7
    Then the backend accepts it
    And the simulator's feeds are 7 and 7
    When the client enables the feeds 0 and 8
    Then the backend refuses it, saying "feed 8 is out of range: feeds go from 0 to 7"

  @simulator
  Scenario: The simulator says what is wrong with the feeds it refuses
    When the client enables the feeds a and 1
    Then the backend refuses it, saying "feeds must be integer numbers (got 'a')"
    When the client sends "set-enable,1"
    Then the backend refuses it, saying "set-enable needs 2 arguments (got 1)"
