"""Value pools for the demo company: names, streets, cities, mail providers, employers, and
what customers do (case subjects, web pages, campaigns).

US-style and listed most common first (census surnames, SSA given names, city population):
the generator turns rank into a Zipf-like weight, so "James Smith" in "New York" is as
over-represented as in real customer data and makes the same hot blocking keys. Mail
providers are real because their address rules are part of the mess; employers, their
domains and everything else are fictional.
"""

from __future__ import annotations

# fmt: off
# Laid out densely by hand; one entry per line would run to well over a thousand lines.

MALE_GIVEN_NAMES: tuple[str, ...] = (
    "James", "John", "Robert", "Michael", "William", "David", "Richard", "Joseph", "Thomas",
    "Charles", "Christopher", "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven",
    "Paul", "Andrew", "Joshua", "Kenneth", "Kevin", "Brian", "George", "Timothy", "Ronald",
    "Edward", "Jason", "Jeffrey", "Ryan", "Jacob", "Gary", "Nicholas", "Eric", "Jonathan",
    "Stephen", "Larry", "Justin", "Scott", "Brandon", "Benjamin", "Samuel", "Gregory",
    "Alexander", "Frank", "Patrick", "Raymond", "Jack", "Dennis", "Jerry", "Tyler", "Aaron",
    "Jose", "Adam", "Nathan", "Henry", "Douglas", "Zachary", "Peter", "Kyle", "Ethan", "Walter",
    "Noah", "Jeremy", "Christian", "Keith", "Roger", "Terry", "Gerald", "Harold", "Sean",
    "Austin", "Carl", "Arthur", "Lawrence", "Dylan", "Jesse", "Jordan", "Bryan", "Billy", "Joe",
    "Bruce", "Gabriel", "Logan", "Albert", "Willie", "Alan", "Juan", "Wayne", "Elijah", "Randy",
    "Roy", "Vincent", "Ralph", "Eugene", "Russell", "Bobby", "Mason", "Philip", "Louis",
    "Harry", "Howard", "Fred", "Carlos", "Luis", "Victor", "Martin", "Ernest", "Phillip",
    "Todd", "Shawn", "Craig", "Curtis", "Travis", "Jimmy", "Marcus", "Antonio", "Manuel",
    "Luke", "Derek",
)

FEMALE_GIVEN_NAMES: tuple[str, ...] = (
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica",
    "Sarah", "Karen", "Lisa", "Nancy", "Betty", "Sandra", "Margaret", "Ashley", "Kimberly",
    "Emily", "Donna", "Michelle", "Carol", "Amanda", "Melissa", "Deborah", "Stephanie",
    "Dorothy", "Rebecca", "Sharon", "Laura", "Cynthia", "Amy", "Kathleen", "Angela", "Shirley",
    "Brenda", "Emma", "Anna", "Pamela", "Nicole", "Samantha", "Katherine", "Christine", "Helen",
    "Debra", "Rachel", "Carolyn", "Janet", "Maria", "Catherine", "Heather", "Diane", "Olivia",
    "Julie", "Joyce", "Victoria", "Ruth", "Virginia", "Lauren", "Kelly", "Christina", "Joan",
    "Evelyn", "Judith", "Andrea", "Hannah", "Megan", "Cheryl", "Jacqueline", "Martha",
    "Madison", "Teresa", "Gloria", "Sara", "Janice", "Ann", "Kathryn", "Abigail", "Sophia",
    "Frances", "Jean", "Alice", "Judy", "Isabella", "Julia", "Grace", "Amber", "Denise",
    "Danielle", "Marilyn", "Beverly", "Charlotte", "Natalie", "Theresa", "Diana", "Brittany",
    "Doris", "Kayla", "Alexis", "Lori", "Marie", "Tiffany", "Rose", "Tammy", "Crystal", "Erica",
    "Wendy", "Tracy", "Dawn", "Kristen", "Monica", "Paula", "Stacy", "Rhonda", "Lorraine",
    "Kathy", "Peggy", "Sherry", "Holly", "Erin", "Vanessa",
)

FAMILY_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans",
    "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris",
    "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson",
    "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson", "Watson",
    "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes",
    "Price", "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster",
    "Jimenez", "Powell", "Jenkins", "Perry", "Russell", "Sullivan", "Bell", "Coleman", "Butler",
    "Henderson", "Barnes", "Gonzales", "Fisher", "Vasquez", "Simmons", "Romero", "Jordan",
    "Patterson", "Alexander", "Hamilton", "Graham", "Reynolds", "Griffin", "Wallace", "Moreno",
    "West", "Cole", "Hayes", "Bryant", "Herrera", "Gibson", "Ellis", "Tran", "Medina",
    "Aguilar", "Stevens", "Murray", "Ford", "Castro", "Marshall", "Owens", "Harrison",
    "Fernandez", "McDonald", "Woods", "Washington", "Kennedy", "Wells", "Vargas", "Henry",
    "Chen", "Freeman", "Webb", "Tucker", "Guzman", "Burns", "Crawford", "Olson", "Simpson",
    "Porter", "Hunter", "Gordon", "Mendez", "Silva", "Shaw", "Snyder", "Mason", "Dixon",
    "Munoz", "Hunt", "Hicks", "Holmes", "Palmer", "Wagner", "Black", "Robertson", "Boyd",
    "Rose", "Stone", "Salazar", "Fox", "Warren", "Mills", "Meyer", "Rice", "Schmidt", "Garza",
    "Daniels", "Ferguson", "Nichols", "Stephens", "Soto", "Weaver", "Ryan", "Gardner", "Payne",
    "Grant", "Dunn", "Kelley", "Spencer", "Hawkins", "Arnold", "Pierce", "Vazquez", "Hansen",
    "Peters", "Santos", "Hart", "Bradley", "Knight", "Elliott", "Cunningham", "Duncan",
    "Armstrong", "Hudson", "Carroll", "Lane", "Riley", "Andrews", "Alvarado", "Ray", "Delgado",
    "Berry", "Perkins", "Hoffman", "Johnston", "Matthews", "Pena", "Richards", "Contreras",
    "Willis", "Carpenter", "Lawrence", "Sandoval", "Guerrero", "George", "Chapman", "Rios",
    "Estrada", "Ortega", "Watkins", "Greene", "Nunez", "Wheeler", "Valdez", "Harper", "Burke",
    "Larson", "Santiago", "Maldonado", "Morrison", "Franklin", "Carlson", "Austin", "Dominguez",
    "Carr", "Lawson", "Jacobs", "O'Brien", "Lynch", "Singh", "Vega", "Bishop", "Montgomery",
    "Oliver", "Jensen", "Harvey", "Williamson", "Gilbert", "Dean", "Sims", "Espinoza", "Howell",
    "Li", "Wong", "Reid", "Hanson", "Le", "McCoy", "Garrett", "Burton", "Fuller", "Wang",
    "Weber", "Welch", "Rojas", "Lucas", "Marquez", "Fields", "Park", "Yang", "Little", "Banks",
    "Padilla", "Day", "Walsh", "Bowman", "Schultz", "Luna", "Fowler", "Mejia", "Davidson",
    "Acosta", "Brewer", "May", "Holland", "Juarez", "Newman", "Pearson", "Curtis", "Cortez",
    "Douglas", "Schneider", "Joseph", "Barrett", "Navarro", "Figueroa", "Keller", "Avila",
    "Wade", "Molina",
)

STREET_NAMES: tuple[str, ...] = (
    "Main", "Second", "Third", "First", "Fourth", "Park", "Fifth", "Oak", "Sixth", "Pine",
    "Maple", "Cedar", "Elm", "Seventh", "Washington", "View", "Lake", "Hill", "Eighth",
    "Walnut", "Sunset", "Lincoln", "Jackson", "Church", "River", "Highland", "Jefferson",
    "Ridge", "Franklin", "Center", "Spring", "Madison", "Chestnut", "Adams", "Willow", "Ninth",
    "Dogwood", "Cherry", "Meadow", "Forest", "Johnson", "Mill", "Lakeview", "Hickory", "Birch",
    "Wilson", "Smith", "Laurel", "Magnolia", "Railroad", "College", "Spruce", "Poplar", "Green",
    "Valley", "Market", "Broad", "Union", "Prospect", "Grove", "Water", "Holly", "Sycamore",
    "Locust", "Liberty", "School", "Academy", "Bridge", "Canal", "Cottage", "Garden",
    "Harrison", "Hamilton", "Monroe", "Woodland", "Orchard", "Fairview", "Pleasant", "Sunrise",
    "Vine", "Beech", "Aspen", "Juniper", "Cypress", "Hawthorn", "Mulberry", "Redwood",
    "Sequoia", "Sheridan", "Grant",
)

STREET_SUFFIXES: tuple[str, ...] = (
    "St", "Ave", "Rd", "Dr", "Ln", "Blvd", "Ct", "Way", "Pl", "Cir", "Ter", "Pkwy", "Trl",
    "Hwy",
)

CITIES: tuple[tuple[str, str, str, str], ...] = (
    ("New York", "NY", "100", "212"), ("Los Angeles", "CA", "900", "213"),
    ("Chicago", "IL", "606", "312"), ("Houston", "TX", "770", "713"),
    ("Phoenix", "AZ", "850", "602"), ("Philadelphia", "PA", "191", "215"),
    ("San Antonio", "TX", "782", "210"), ("San Diego", "CA", "921", "619"),
    ("Dallas", "TX", "752", "214"), ("San Jose", "CA", "951", "408"),
    ("Austin", "TX", "787", "512"), ("Jacksonville", "FL", "322", "904"),
    ("Fort Worth", "TX", "761", "817"), ("Columbus", "OH", "432", "614"),
    ("Charlotte", "NC", "282", "704"), ("Indianapolis", "IN", "462", "317"),
    ("San Francisco", "CA", "941", "415"), ("Seattle", "WA", "981", "206"),
    ("Denver", "CO", "802", "303"), ("Washington", "DC", "200", "202"),
    ("Nashville", "TN", "372", "615"), ("Oklahoma City", "OK", "731", "405"),
    ("El Paso", "TX", "799", "915"), ("Boston", "MA", "021", "617"),
    ("Portland", "OR", "972", "503"), ("Las Vegas", "NV", "891", "702"),
    ("Detroit", "MI", "482", "313"), ("Memphis", "TN", "381", "901"),
    ("Louisville", "KY", "402", "502"), ("Baltimore", "MD", "212", "410"),
    ("Milwaukee", "WI", "532", "414"), ("Albuquerque", "NM", "871", "505"),
    ("Tucson", "AZ", "857", "520"), ("Fresno", "CA", "937", "559"),
    ("Sacramento", "CA", "958", "916"), ("Kansas City", "MO", "641", "816"),
    ("Mesa", "AZ", "852", "480"), ("Atlanta", "GA", "303", "404"),
    ("Omaha", "NE", "681", "402"), ("Colorado Springs", "CO", "809", "719"),
    ("Raleigh", "NC", "276", "919"), ("Long Beach", "CA", "908", "562"),
    ("Virginia Beach", "VA", "234", "757"), ("Miami", "FL", "331", "305"),
    ("Oakland", "CA", "946", "510"), ("Minneapolis", "MN", "554", "612"),
    ("Tulsa", "OK", "741", "918"), ("Bakersfield", "CA", "933", "661"),
    ("Wichita", "KS", "672", "316"), ("Arlington", "TX", "760", "817"),
    ("Aurora", "CO", "800", "303"), ("Tampa", "FL", "336", "813"),
    ("New Orleans", "LA", "701", "504"), ("Cleveland", "OH", "441", "216"),
    ("Honolulu", "HI", "968", "808"), ("Anaheim", "CA", "928", "714"),
    ("Lexington", "KY", "405", "859"), ("Stockton", "CA", "952", "209"),
    ("Corpus Christi", "TX", "784", "361"), ("Henderson", "NV", "890", "702"),
    ("Riverside", "CA", "925", "951"), ("Newark", "NJ", "071", "973"),
    ("Saint Paul", "MN", "551", "651"), ("Santa Ana", "CA", "927", "714"),
    ("Cincinnati", "OH", "452", "513"), ("Irvine", "CA", "926", "949"),
    ("Orlando", "FL", "328", "407"), ("Pittsburgh", "PA", "152", "412"),
    ("St. Louis", "MO", "631", "314"), ("Greensboro", "NC", "274", "336"),
    ("Jersey City", "NJ", "073", "201"), ("Anchorage", "AK", "995", "907"),
    ("Lincoln", "NE", "685", "402"), ("Plano", "TX", "750", "972"),
    ("Durham", "NC", "277", "919"), ("Buffalo", "NY", "142", "716"),
    ("Chandler", "AZ", "852", "480"), ("Chula Vista", "CA", "919", "619"),
    ("Toledo", "OH", "436", "419"), ("Madison", "WI", "537", "608"),
    ("Gilbert", "AZ", "852", "480"), ("Reno", "NV", "895", "775"),
    ("Fort Wayne", "IN", "468", "260"), ("North Las Vegas", "NV", "890", "702"),
    ("St. Petersburg", "FL", "337", "727"), ("Lubbock", "TX", "794", "806"),
    ("Irving", "TX", "750", "972"), ("Laredo", "TX", "780", "956"),
    ("Winston-Salem", "NC", "271", "336"), ("Chesapeake", "VA", "233", "757"),
    ("Glendale", "AZ", "853", "623"), ("Garland", "TX", "750", "972"),
    ("Scottsdale", "AZ", "852", "480"), ("Norfolk", "VA", "235", "757"),
    ("Boise", "ID", "837", "208"), ("Fremont", "CA", "945", "510"),
    ("Spokane", "WA", "992", "509"), ("Santa Clarita", "CA", "913", "661"),
    ("Baton Rouge", "LA", "708", "225"), ("Richmond", "VA", "232", "804"),
)

# Consumer mail providers with rough US market shares (percent).
EMAIL_PROVIDERS: tuple[tuple[str, float], ...] = (
    ("gmail.com", 40.0), ("yahoo.com", 14.0), ("hotmail.com", 8.0), ("outlook.com", 6.0),
    ("aol.com", 5.0), ("icloud.com", 5.0), ("comcast.net", 3.0), ("att.net", 2.0),
    ("msn.com", 1.5), ("live.com", 1.5), ("sbcglobal.net", 1.5), ("verizon.net", 1.0),
)

# Fictional employers (name as the sales team types it, mail domain). The CRM holds work
# addresses at these domains, which share nothing with the same person's personal address.
EMPLOYERS: tuple[tuple[str, str], ...] = (
    ("Contoso Ltd", "contoso.com"), ("Fabrikam Inc", "fabrikam.com"),
    ("Northwind Traders", "northwindtraders.com"), ("Adventure Works", "adventure-works.com"),
    ("Tailspin Toys", "tailspintoys.com"), ("Wingtip Toys", "wingtiptoys.com"),
    ("Litware Inc", "litwareinc.com"), ("Proseware Inc", "proseware.com"),
    ("Fourth Coffee", "fourthcoffee.com"), ("Coho Winery", "cohowinery.com"),
    ("Alpine Ski House", "alpineskihouse.com"), ("Woodgrove Bank", "woodgrovebank.com"),
    ("A. Datum Corporation", "adatum.com"), ("Relecloud", "relecloud.com"),
    ("Trey Research", "treyresearch.net"), ("Lucerne Publishing", "lucernepublishing.com"),
    ("Margie's Travel", "margiestravel.com"), ("Humongous Insurance", "humongousinsurance.com"),
    ("Blue Yonder Airlines", "blueyonderairlines.com"),
    ("Wide World Importers", "wideworldimporters.com"),
)

# Nicknames people actually go by. The `nicknames` package decides what is a nickname of
# what; this list only keeps its rarer entries ("Hobkin" for Robert) out of the demo.
COMMON_NICKNAMES: frozenset[str] = frozenset((
    "Abby", "Al", "Alex", "Andy", "Annie", "Becky", "Ben", "Benny", "Beth", "Betsy", "Betty",
    "Bill", "Billy", "Bob", "Bobby", "Cathy", "Charlie", "Chris", "Chrissy", "Chuck", "Cindy",
    "Curt", "Dan", "Danny", "Dave", "Deb", "Debbie", "Dick", "Don", "Donnie", "Dot", "Dottie",
    "Doug", "Drew", "Ed", "Eddie", "Ernie", "Fred", "Gabe", "Gene", "Greg", "Hank", "Harry",
    "Jack", "Jake", "Jamie", "Jan", "Jeff", "Jen", "Jenn", "Jenny", "Jerry", "Jess", "Jessie",
    "Jim", "Jimmy", "Jo", "Joe", "Joey", "Jon", "Josh", "Judy", "Kate", "Kathy", "Katie", "Ken",
    "Kenny", "Kim", "Kris", "Larry", "Liz", "Lizzie", "Lou", "Maggie", "Mandy", "Manny",
    "Marty", "Matt", "Meg", "Mike", "Mikey", "Molly", "Nate", "Nick", "Nicky", "Pam", "Pat",
    "Patty", "Peggy", "Pete", "Phil", "Ray", "Rick", "Ricky", "Rob", "Ron", "Ronnie", "Russ",
    "Sam", "Sammy", "Sandy", "Steph", "Steve", "Sue", "Susie", "Ted", "Teddy", "Terry", "Tim",
    "Timmy", "Tina", "Tom", "Tommy", "Tony", "Trish", "Vic", "Vicky", "Vince", "Walt", "Will",
    "Zach",
))

# The service desk's own call-centre line: agents who take a call without a caller id type
# it into the requester's phone field, so hundreds of strangers share it.
CALL_CENTRE_PHONE = "+1 877-394-2710"

# What service cases are about, weighted by how often they come in.
CASE_SUBJECTS: tuple[tuple[str, float], ...] = (
    ("Where is my order?", 22), ("Return request", 14), ("Refund not received", 10),
    ("Item arrived damaged", 8), ("Wrong size delivered", 7), ("Change delivery address", 6),
    ("Cannot log in", 6), ("Password reset", 5), ("Invoice copy", 4),
    ("Cancel my order", 4), ("Warranty claim", 3), ("Update my email address", 3),
    ("Unsubscribe from emails", 2), ("Complaint about delivery driver", 2),
    ("Product question", 4),
)

# Shop pages with rough shares of visits.
WEB_PAGES: tuple[tuple[str, float], ...] = (
    ("/", 20), ("/search", 10), ("/category/shoes", 7), ("/category/outdoor", 6),
    ("/category/home", 6), ("/category/kids", 4), ("/product/trail-runner-2", 5),
    ("/product/rain-jacket", 4), ("/product/coffee-grinder", 3), ("/product/wool-socks", 3),
    ("/cart", 8), ("/checkout", 5), ("/account", 5), ("/account/orders", 4),
    ("/help/returns", 3), ("/help/shipping", 3), ("/sale", 4),
)

# Seasonal promotions (month, name); a monthly newsletter goes out as well.
PROMOTIONS: tuple[tuple[int, str], ...] = (
    (3, "Spring Sale"), (5, "Outdoor Week"), (7, "Summer Clearance"), (8, "Back to School"),
    (11, "Black Friday"), (12, "Holiday Gift Guide"),
)
# fmt: on
