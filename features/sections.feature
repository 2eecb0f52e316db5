Feature: Sections
  A section is one slice of the band the backend processes: its start
  frequency and bandwidth (MHz), the feed it takes, its mode, its sample rate
  (MHz) and its number of bins. DISCOS sets them before a scan; a field left
  out is sent as "*", which leaves it as it is. How many sections a backend
  has, and its widest bandwidth, are its own: the simulator has 5 sections
  of at most 2000 MHz.

  Background:
    Given a backend

  Scenario: Every field of a section can be set
    When the client sets section 0 to:
      | start frequency | bandwidth | feed | mode   | sample rate | bins |
      | 100.5           | 1000      | 0    | stokes | 2000        | 1024 |
    Then the backend accepts it

  Scenario: Fields left out are left as they are
    When the client sets section 0 to:
      | bandwidth | bins |
      | 500       | 2048 |
    Then the backend accepts it

  Scenario Outline: A section that does not exist is refused (<section>: <why>)
    When the client sets section <section> to:
      | bandwidth |
      | 500       |
    Then the backend refuses it

    Examples:
      | section    | why                          |
      | -1         | sections are numbered from 0 |
      | 2147483647 | no backend has that many     |

  Scenario: A bandwidth wider than any backend's is refused
    When the client sets the bandwidth of section 0 to "1000000000"
    Then the backend refuses it

  Scenario: A section needs all seven fields, and says so
    When the client sends "set-section,0,100,1000"
    Then the backend refuses it, saying "set-section needs 7 arguments"

  Scenario: A section with an eighth field is refused
    When the client sends "set-section,0,*,*,*,*,*,*,*"
    Then the backend refuses it

  Scenario: A section number must be a whole number
    When the client sets section x to:
      | bins |
      | 1024 |
    Then the backend refuses it, saying "wrong parameter format"

  Scenario Outline: Every field must have its type, or the request is refused, saying so (<field>: <value>)
    When the client sets the <field> of section 0 to "<value>"
    Then the backend refuses it, saying "wrong parameter format"

    Examples:
      | field           | value |
      | start frequency | low   |
      | bandwidth       | wide  |
      | feed            | 1.5   |
      | sample rate     | fast  |
      | bins            | many  |

  @simulator
  Scenario: The simulator's last section is number 4
    When the client sets section 4 to:
      | bins |
      | 1024 |
    Then the backend accepts it
    When the client sets section 5 to:
      | bins |
      | 1024 |
    Then the backend refuses it, saying "section 5 is beyond the maximum: sections go from 0 to 4"

  @simulator
  Scenario: A bandwidth above the simulator's 2000 MHz is refused, saying so
    When the client sets the bandwidth of section 0 to "2500"
    Then the backend refuses it, saying "bandwidth 2500 MHz is above the maximum of 2000 MHz"
