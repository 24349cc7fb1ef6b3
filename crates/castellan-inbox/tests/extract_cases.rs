//! Short texts beyond the corpus: codes that must be found, and numbers that are not codes.
#![forbid(unsafe_code)]

use castellan_inbox::extract_sms;

#[test]
fn codes_and_non_codes() {
    let cases = [
        ("Your Instagram code is 482 913. Don't share it.", Some("482913")),
        ("Use 739201 to verify your Tinder account. Expires in 5 mins.", Some("739201")),
        ("Here is your one-time passcode: 9F4K2Q", Some("9F4K2Q")),
        ("Account 12345678: your verification code is 551230", Some("551230")),
        ("Bank of X: Code 4471 for transaction of $250.00 at Amazon on 05/21. Not you? Call 800-555-0199", Some("4471")),
        ("Your code is: 123456\nOrder 654321", Some("123456")),
        ("Confirmation code 48291 (valid 10 min)", Some("48291")),
        ("Din verifieringskod är 553 120", Some("553120")),
        ("Kod weryfikacyjny: 2849-1120", Some("28491120")),
        ("Votre code : 718 264", Some("718264")),
        ("Ihr TAN lautet 438112", Some("438112")),
        ("Invoice INV-2024-0042, total €1.234,56. Your login code is 660912.", Some("660912")),
        ("Your Apple ID Code is: 583014. Don't share it with anyone.", Some("583014")),
        ("Use verification code 305-118 for Microsoft authentication.", Some("305118")),
        ("Ваш код для входа: 74 21 09", Some("742109")),
        ("验证码：8362，您正在登录，若非本人操作，请忽略。【支付宝】", Some("8362")),
        ("[LinkedIn] 918273 is your verification code", Some("918273")),
        ("Your one-time PIN is 0042", Some("0042")),
        ("Rechnung Nr. 4711 vom 01.06.2024 — Ihr Code: 8813", Some("8813")),
        ("Your package 1Z999AA10123456784 arrives Tuesday", None),
        ("Meeting moved to 14:30, room 2.04. Dial-in 8675309", None),
        ("Thanks for your payment of $45.00 on 2024-05-01. Reference 99887766.", None),
        ("Happy birthday! You are now 30 years old. Since 1994.", None),
        ("Call me at 555 1234 when you can", None),
        ("Your verification code for WhatsApp Business: 113-902. Do not share.", Some("113902")),
        ("Telegram code: 53120\n\nYou can also tap on this link to log in:\nhttps://t.me/login/53120", Some("53120")),
        ("Your code is 8 3 9 2 0 1", None),
        ("Your Microsoft verification code is 7482. Reply STOP to opt out.", Some("7482")),
        ("Netflix: Your code is 2049. Expires in 15 minutes", Some("2049")),
    ];
    let mut bad = vec![];
    for (t, want) in cases {
        let got = extract_sms(t, None).code;
        if got.as_deref() != want {
            bad.push(format!("{t:?}: got {got:?} want {want:?}"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
