using System.Text.RegularExpressions;

namespace Virt.Fuzz.Tests;

public sealed partial class ReproducerWriterTests
{
    [GeneratedRegex("\"([0-9A-F]*)\"")]
    private static partial Regex HexLiteral();

    [Fact]
    public void A_guest_reproducer_carries_the_case_and_its_bytes()
    {
        FuzzCase guest = FuzzCase.Generate(77, FuzzMode.Virtual8086, FuzzGenerator.RandomBytes, FuzzLevel.Machine, 12345);
        var finding = new FuzzFinding(FindingKind.HostException, guest, null, "System.IndexOutOfRangeException: boom\n   at Somewhere()");

        string source = ReproducerWriter.Render(finding);

        Assert.Contains("FuzzCase.FromHex(77UL, FuzzMode.Virtual8086, FuzzGenerator.RandomBytes, FuzzLevel.Machine, budget: 12345,", source, StringComparison.Ordinal);
        Assert.Contains("ReproducerCheck.AssertRunsCleanly(guest);", source, StringComparison.Ordinal);
        Assert.Contains("//   System.IndexOutOfRangeException: boom", source, StringComparison.Ordinal);
        Assert.Contains("public sealed class HostException_Seed77_Virtual8086_RandomBytes_Machine", source, StringComparison.Ordinal);
        string hex = string.Concat(HexLiteral().Matches(source).Select(m => m.Groups[1].Value));
        Assert.Equal(guest.Code, Hex.Parse(hex));
    }

    [Fact]
    public void A_reproducer_of_a_campaign_without_the_decode_cache_runs_without_it()
    {
        var finding = new FuzzFinding(FindingKind.Hang, FuzzCase.Generate(1, FuzzMode.Pae, FuzzGenerator.RandomBytes, FuzzLevel.Cpu, 10), null, "hang");

        Assert.Contains("ReproducerCheck.AssertRunsCleanly(guest, disableDecodeCache: true);", ReproducerWriter.Render(finding, disableDecodeCache: true), StringComparison.Ordinal);
    }

    [Fact]
    public void A_reproducer_of_a_compiled_tier_campaign_runs_on_the_compiled_tier()
    {
        var finding = new FuzzFinding(FindingKind.Hang, FuzzCase.Generate(1, FuzzMode.Pae, FuzzGenerator.RandomBytes, FuzzLevel.Cpu, 10), null, "hang");

        Assert.Contains("ReproducerCheck.AssertRunsCleanly(guest, compiledTier: true);", ReproducerWriter.Render(finding, compiledTier: true), StringComparison.Ordinal);
        Assert.Contains("ReproducerCheck.AssertRunsCleanly(guest, disableDecodeCache: true, compiledTier: true);", ReproducerWriter.Render(finding, true, true), StringComparison.Ordinal);
    }

    [Fact]
    public void A_device_reproducer_names_the_seed_and_operation_count()
    {
        var finding = new FuzzFinding(FindingKind.HostException, null, new DeviceFuzzCase(9, 1234), "operation 1233: ...");

        string source = ReproducerWriter.Render(finding);

        Assert.Contains("ReproducerCheck.AssertDeviceTrafficClean(new DeviceFuzzCase(9UL, 1234));", source, StringComparison.Ordinal);
    }

    [Fact]
    public void A_pasted_reproducer_runs_its_case_and_passes_when_the_guest_is_clean()
    {
        // What a reproducer test does once its bug is fixed: the same call, on a case that runs cleanly.
        FuzzCase guest = FuzzCase.FromHex(3UL, FuzzMode.RealMode, FuzzGenerator.DecodableInstructions, FuzzLevel.Cpu, budget: 1000, "90 90 CD 21 F4");

        ReproducerCheck.AssertRunsCleanly(guest);

        Assert.Equal([0x90, 0x90, 0xCD, 0x21, 0xF4], guest.Code);
    }

    [Fact]
    public void The_writer_writes_one_file_per_finding_and_not_twice()
    {
        string directory = Path.Combine(Path.GetTempPath(), "virt-fuzz-tests", Guid.NewGuid().ToString("N"));
        try
        {
            var writer = new ReproducerWriter(directory);
            var finding = new FuzzFinding(FindingKind.Hang, FuzzCase.Generate(1, FuzzMode.Pae, FuzzGenerator.RandomBytes, FuzzLevel.Cpu, 10), null, "hang");

            string? path = writer.Write(finding);
            string? again = writer.Write(finding);

            Assert.NotNull(path);
            Assert.Null(again);
            Assert.Equal(ReproducerWriter.Render(finding), File.ReadAllText(path));
        }
        finally
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    [Fact]
    public void Hex_with_an_odd_digit_count_or_a_stray_character_is_rejected()
    {
        Assert.Throws<FormatException>(() => Hex.Parse("ABC"));
        Assert.Throws<FormatException>(() => Hex.Parse("AZ"));
    }
}
