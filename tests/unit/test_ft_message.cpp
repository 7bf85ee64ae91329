#include <twine/protocols/filetransfer/message.hpp>
#include <twine/protocols/filetransfer/transfer_error.hpp>

#include <doctest/doctest.h>

#include <string>

using twine::filetransfer::Message;
using twine::filetransfer::TransferError;

namespace {

std::string codeOf(std::string_view line) {
    try {
        Message::decode(line);
    } catch (const TransferError& error) {
        return error.code();
    }
    return "accepted";
}

}  // namespace

TEST_CASE("a message survives encoding and decoding with awkward values") {
    std::string name("dir/we ird=%name\n\x01\xff\0z", 21);
    Message message("FILE");
    message.set("name", name).set("size", std::uint64_t{12345}).set("empty", "");
    std::string line = message.encode();
    CHECK(line.find('\n') == std::string::npos);
    CHECK(line.find(' ', 5) != std::string::npos);
    Message back = Message::decode(line);
    CHECK(back.verb() == "FILE");
    CHECK(back.get("name") == name);
    CHECK(back.getNumber("size") == 12345);
    CHECK(back.get("empty").empty());
}

TEST_CASE("the wire form is readable text") {
    Message message("RESUME");
    message.set("have", std::uint64_t{0});
    CHECK(message.encode() == "RESUME have=0");
    CHECK(Message("FILE").set("name", "a b").encode() == "FILE name=a%20b");
}

TEST_CASE("malformed lines are refused as bad-message") {
    CHECK(codeOf("") == "bad-message");
    CHECK(codeOf("file name=x") == "bad-message");
    CHECK(codeOf("FILE name") == "bad-message");
    CHECK(codeOf("FILE =x") == "bad-message");
    CHECK(codeOf("FILE Name=x") == "bad-message");
    CHECK(codeOf("FILE name=x name=y") == "bad-message");
    CHECK(codeOf("FILE name=a b") == "bad-message");
    CHECK(codeOf("FILE name=%4") == "bad-message");
    CHECK(codeOf("FILE name=%zz") == "bad-message");
    CHECK(codeOf("FILE name=a\tb") == "bad-message");
    CHECK(codeOf("FILE  name=x") == "bad-message");
    CHECK(codeOf("FILE name=x ") == "bad-message");
    CHECK(codeOf(std::string("FILE name=a\0b", 13)) == "bad-message");
    CHECK(codeOf("VERYLONGVERBNAMEXX") == "bad-message");
    CHECK(codeOf("FILE name=x") == "accepted");
}

TEST_CASE("hostile sizes are refused: too long, too many fields") {
    CHECK(codeOf("FILE name=" + std::string(Message::maxLineLength, 'a')) == "bad-message");
    std::string many = "FILE";
    for (int i = 0; i < 17; ++i) many += " k" + std::to_string(i) + "=v";
    CHECK(codeOf(many) == "bad-message");
    CHECK(codeOf("FILE " + std::string(40, 'k') + "=v") == "bad-message");
}

TEST_CASE("numbers must be plain decimal within 63 bits") {
    auto number = [](std::string value) {
        return Message::decode("FILE size=" + value).getNumber("size");
    };
    CHECK(number("0") == 0);
    CHECK(number("9223372036854775807") == 9223372036854775807ULL);
    CHECK_THROWS_AS(number("9223372036854775808"), TransferError);
    CHECK_THROWS_AS(number("99999999999999999999"), TransferError);
    CHECK_THROWS_AS(number("-1"), TransferError);
    CHECK_THROWS_AS(number("%2B1"), TransferError);
    CHECK_THROWS_AS(number("012"), TransferError);
    CHECK_THROWS_AS(number(""), TransferError);
    CHECK_THROWS_AS(number("1e3"), TransferError);
    CHECK_THROWS_AS(Message::decode("FILE").getNumber("size"), TransferError);
}

TEST_CASE("hex fields must have the exact length and lower-case digits") {
    std::string good(64, 'a');
    CHECK(Message::decode("DONE sha256=" + good).getHex("sha256", 32).size() == 32);
    CHECK_THROWS_AS(Message::decode("DONE sha256=abc").getHex("sha256", 32), TransferError);
    CHECK_THROWS_AS(Message::decode("DONE sha256=" + std::string(64, 'A')).getHex("sha256", 32),
                    TransferError);
    CHECK_THROWS_AS(Message::decode("DONE sha256=" + std::string(64, 'g')).getHex("sha256", 32),
                    TransferError);
}
