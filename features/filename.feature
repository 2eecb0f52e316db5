Feature: File name
  DISCOS tells the backend where to write the data of a scan. The name may
  hold spaces and, escaped, commas; it must reach the backend exactly as
  sent.

  Background:
    Given a backend

  Scenario: A file name is accepted
    When the client sends "set-filename,/data/20261122/scan-001.fits"
    Then the client receives "!set-filename,ok"

  Scenario: A file name may hold spaces and escaped commas
    When the client sends "set-filename,/data/my scan\,part 2.fits"
    Then the client receives "!set-filename,ok"

  Scenario: Setting a file name needs a name
    When the client sends "set-filename"
    Then the reply is fail
    And the reply says "needs a file name"

  Scenario: An empty file name is no name
    When the client sends "set-filename,"
    Then the reply is fail
    And the reply says "needs a file name"
