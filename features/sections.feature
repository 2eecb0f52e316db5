Feature: Sections
  A section is one slice of the band the backend processes: its start
  frequency, bandwidth, feed, mode, sample rate and number of bins. DISCOS
  sets them before a scan; any field may be left unchanged with "*". A
  backend has at most 5 sections and 2000 MHz of bandwidth per section.

  Background:
    Given a backend

  Scenario: Every field of a section can be set
    When the client sends "set-section,0,100.5,1000,0,stokes,2000,1024"
    Then the client receives "!set-section,ok"

  Scenario: A star leaves a field unchanged
    When the client sends "set-section,1,*,500,*,*,*,2048"
    Then the client receives "!set-section,ok"

  Scenario: Fields can be given by name
    When the client sets section 2 to:
      | bandwidth | 1500   |
      | mode      | stokes |
      | bins      | 4096   |
    Then the client receives "!set-section,ok"

  Scenario: The last section is number 4
    When the client sends "set-section,4,*,*,*,*,*,*"
    Then the reply is ok

  Scenario Outline: A section beyond the maximum is refused
    When the client sends "set-section,<section>,*,*,*,*,*,*"
    Then the reply is fail
    And the reply says "section <section> is beyond the maximum"

    Examples:
      | section |
      | 5       |
      | 99      |
      | -1      |

  Scenario: A bandwidth above 2000 MHz is refused
    When the client sends "set-section,0,*,2500,*,*,*,*"
    Then the client receives "!set-section,fail,bandwidth 2500 MHz is above the maximum of 2000 MHz"

  Scenario: A section needs all seven fields
    When the client sends "set-section,0,100,1000"
    Then the client receives "!set-section,fail,set-section needs 7 arguments (got 3)"

  Scenario Outline: Every field must have its type
    When the client sends "set-section,<fields>"
    Then the reply is fail
    And the reply says "wrong parameter format: <field>"

    Examples:
      | fields                   | field           |
      | x,*,*,*,*,*,*            | section         |
      | 0,low,*,*,*,*,*          | start frequency |
      | 0,*,wide,*,*,*,*         | bandwidth       |
      | 0,*,*,1.5,*,*,*          | feed            |
      | 0,*,*,*,*,fast,*         | sample rate     |
      | 0,*,*,*,*,*,many         | bins            |
