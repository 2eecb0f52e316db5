Feature: File name
  DISCOS tells the backend where to write the data of a subscan, right after
  its stop, and never reads the answer: a backend that refuses the name
  loses the data without anyone noticing. DISCOS's names are paths of its
  own making (project, date, source, scan and subscan). A name may hold
  spaces and commas (sent escaped, as \,) and must reach the backend as the
  operator wrote it.

  Background:
    Given a backend

  @must:set-filename
  Scenario: A file name is accepted
    When the client sets the file name to "/data/20261122/scan-001.fits"
    Then the backend accepts it

  @must:set-filename
  Scenario: A file name as DISCOS makes it is accepted
    When the client sets the file name to "/archive/data/proj/20250110/20250110-093012-proj-3C286/tmp/20250110-093012-proj-3C286_001_001.fits"
    Then the backend accepts it

  @should:escapes
  Scenario: A file name with spaces and a comma is accepted
    When the client sets the file name to "/data/my scan,part 2.fits"
    Then the backend accepts it

  @should:missing-arguments
  Scenario: Setting a file name without a name is refused
    When the client sends "set-filename"
    Then the backend refuses it

  @should:missing-arguments
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
