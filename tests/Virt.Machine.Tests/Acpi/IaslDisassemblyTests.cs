using System.Diagnostics;
using Virt.Machine.Acpi;
using Xunit;

namespace Virt.Machine.Tests.Acpi;

/// <summary>
/// The generated tables through ACPICA's disassembler (Debian's <c>acpica-tools</c>, installed by .ci/install-packages):
/// each table disassembles without errors, and the listing shows the objects and fields Virt put there.
/// </summary>
[Trait("Category", "Acceptance")]
public sealed class IaslDisassemblyTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("virt-acpi-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData("DSDT", new[] { "Device (PCI0)", "EisaId (\"PNP0A03\")", "Name (_PRT, Package (0x80)", "Device (LNKA)", "PNP0C0F", "Method (_SRS, 1", "OperationRegion (P40C, PCI_Config, 0x60, 0x04)",
        "Device (KBD)", "EisaId (\"PNP0303\")", "EisaId (\"PNP0501\")", "EisaId (\"PNP0B00\")", "EisaId (\"PNP0100\")", "EisaId (\"PNP0000\")", "EisaId (\"PNP0103\")", "Name (\\_S5, Package (0x04)",
        "WordBusNumber (ResourceProducer", "DWordMemory (ResourceProducer", "0xFEBFFFFF", "Interrupt (ResourceConsumer, Level, ActiveHigh, Shared, ,, )" })]
    [InlineData("FACP", new[] { "SCI Interrupt : 0009", "PM1A Control Block Address : 00000604", "PM Timer Block Address : 00000608", "GPE0 Block Address : 0000AFE0", "RTC Century Index : 32", "Value to cause reset : 06", "Address : 0000000000000CF9" })]
    [InlineData("APIC", new[] { "Local Apic Address : FEE00000", "Address : FEC00000", "Source : 00", "Interrupt : 00000002", "Source : 09", "Trigger Mode : 3", "Interrupt Input LINT : 01" })]
    [InlineData("HPET", new[] { "Hardware Block ID : 8086A201", "Address : 00000000FED00000" })]
    [InlineData("XSDT", new[] { "ACPI Table Address   0" })]
    [InlineData("RSDT", new[] { "ACPI Table Address   0" })]
    public void Tables_disassemble_without_errors_and_show_their_objects(string signature, string[] expected)
    {
        AcpiTableSet set = AcpiTableBuilder.Build(new AcpiPlatformDescription());
        (byte[] tables, _) = set.Link(0x07FF_0000, 0xF_5A00);
        AcpiTableEntry entry = set.GetEntry(signature);
        string input = Path.Combine(_directory, signature.ToLowerInvariant() + ".dat");
        File.WriteAllBytes(input, tables.AsSpan(entry.Offset, entry.Length).ToArray());

        (int exitCode, string output) = Run("iasl", "-d", input);
        string listingPath = Path.ChangeExtension(input, ".dsl");
        Assert.True(exitCode == 0 && File.Exists(listingPath), $"iasl -d failed with {exitCode}:\n{output}");
        Assert.DoesNotContain("Error", output, StringComparison.Ordinal);
        string listing = Normalize(File.ReadAllText(listingPath));
        Assert.DoesNotContain("**** Invalid", listing, StringComparison.Ordinal);
        Assert.DoesNotContain("Incorrect checksum", listing, StringComparison.OrdinalIgnoreCase);
        foreach (string text in expected)
        {
            Assert.Contains(Normalize(text), listing, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Dsdt_recompiles_without_errors()
    {
        AcpiTableSet set = AcpiTableBuilder.Build(new AcpiPlatformDescription { CpuCount = 4 });
        AcpiTableEntry entry = set.GetEntry("DSDT");
        string input = Path.Combine(_directory, "dsdt.dat");
        File.WriteAllBytes(input, set.Link(0x07FF_0000, 0xF_5A00).Tables.AsSpan(entry.Offset, entry.Length).ToArray());
        (int disassembled, string disassemblyOutput) = Run("iasl", "-d", input);
        Assert.True(disassembled == 0, disassemblyOutput);

        // Compiling the listing again checks the semantics iasl knows (named objects, resource descriptors, _PRT form).
        (int compiled, string output) = Run("iasl", "-p", Path.Combine(_directory, "recompiled"), Path.ChangeExtension(input, ".dsl"));
        Assert.True(compiled == 0, output);
        Assert.Contains("0 Errors", output, StringComparison.Ordinal);
    }

    private static string Normalize(string text) => string.Join(' ', text.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries));

    private (int ExitCode, string Output) Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _directory };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"Cannot start {program} (install acpica-tools).");
        Task<string> error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output + error.Result);
    }
}
