Feature: Enabled feeds
  A multi-feed receiver sends several feeds to the backend; set-enable picks
  the two to acquire. Feeds are numbered from 0, and a backend has half as
  many feeds as sections: with 5 sections, feeds 0 and 1 only.

  Background:
    Given a backend

  Scenario: The first feed, feed 0, can be enabled on any backend of two sections or more
    When the client enables the feeds 0 and 0
    Then the backend accepts it

  Scenario Outline: A feed <what is wrong> is refused (<feed1> and <feed2>)
    When the client enables the feeds <feed1> and <feed2>
    Then the backend refuses it

    Examples:
      | feed1 | feed2   | what is wrong                  |
      | -1    | 0       | below 0                        |
      | 0     | 1000000 | beyond what any backend has    |
      | a     | 1       | that is not a number           |
      | 0     | 0.5     | that is not a whole number     |

  Scenario: Enabling feeds takes two of them, not one
    When the client sends "set-enable,1"
    Then the backend refuses it

  Scenario: Enabling feeds takes two of them, not three
    When the client sends "set-enable,0,0,0"
    Then the backend refuses it

  @simulator @embedded
  Scenario: The simulator's five sections give feeds 0 and 1
    When the client enables the feeds 0 and 1
    Then the backend accepts it
    And the simulator's feeds are 0 and 1
    When the client enables the feeds 0 and 2
    Then the backend refuses it, saying "feed 2 is out of range: feeds go from 0 to 1"

  @simulator
  Scenario: The simulator says what is wrong with the feeds it refuses
    When the client enables the feeds a and 1
    Then the backend refuses it, saying "feeds must be integer numbers (got 'a')"
    When the client sends "set-enable,1"
    Then the backend refuses it, saying "set-enable needs 2 arguments (got 1)"
