Feature: Enabled feeds
  A multi-feed receiver sends several feeds to the backend; set-enable picks
  the two to acquire. Feeds are numbered from 0, and a backend with 5
  sections takes feeds 0 and 1 only.

  Background:
    Given a backend

  Scenario: Two feeds can be enabled
    When the client sends "set-enable,0,1"
    Then the client receives "!set-enable,ok"

  Scenario Outline: A feed outside the range is refused
    When the client sends "set-enable,<feed1>,<feed2>"
    Then the reply is fail
    And the reply says "is out of range"

    Examples:
      | feed1 | feed2 |
      | 0     | 2     |
      | -1    | 0     |
      | 7     | 1     |

  Scenario: Feeds are whole numbers
    When the client sends "set-enable,a,1"
    Then the client receives "!set-enable,fail,feeds must be integer numbers (got 'a')"

  Scenario: Enabling feeds needs two of them
    When the client sends "set-enable,1"
    Then the client receives "!set-enable,fail,set-enable needs 2 arguments (got 1)"
