Feature: File name
  DISCOS tells the backend where to write the data of a scan. The name may
  hold spaces and commas (sent escaped, as \,) and must reach the backend as
  the operator wrote it.

  Background:
    Given a backend

  Scenario: A file name is accepted
    When the client sets the file name to "/data/20261122/scan-001.fits"
    Then the backend accepts it

  Scenario: A file name with spaces and a comma is accepted
    When the client sets the file name to "/data/my scan,part 2.fits"
    Then the backend accepts it

  Scenario: Setting a file name without a name is refused
    When the client sends "set-filename"
    Then the backend refuses it

  Scenario: An empty file name is no name, and is refused
    When the client sets the file name to ""
    Then the backend refuses it

  @simulator @embedded
  Scenario: A file name with spaces and a comma reaches the simulator exactly as written
    When the client sets the file name to "/data/my scan,part 2.fits"
    Then the backend accepts it
    And the simulator's file name is "/data/my scan,part 2.fits"

  @simulator
  Scenario: The simulator says a file name is missing
    When the client sets the file name to ""
    Then the backend refuses it, saying "set-filename needs a file name"
