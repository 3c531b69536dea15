using System.Text.Json;
using Xunit;

namespace Virt.Cpu.Tests.Conformance;

/// <summary>
/// The conformance runner's own parts, on hand-written cases (no suite data needed): the modelled faults that replace the
/// 286's state where the CPUs differ, the through-SS rule, and the known-failure list's format.
/// </summary>
public sealed class Sst286FaultModelTests
{
    [Fact]
    public void Lock_on_a_register_destination_is_modelled_as_ud_from_the_initial_state()
    {
        JsonElement test = Case([0xF0, 0x86, 0xE7, 0xF4], ax: 0x1234, sp: 0x0100); // lock xchg bh, ah
        Assert.Equal("lock", Sst286Exclusions.ExcludedCase(test));
        ModelledFault fault = Sst286FaultModel.Expect("lock", test, out _)!;
        Assert.Equal(Sst286FaultModel.InvalidOpcode, fault.Vector);
        Assert.Equal(0x1234, fault.Registers[0]);
        Assert.Equal(0x0100, fault.Registers[4]);
        Assert.Equal(0, fault.Iterations);
    }

    [Fact]
    public void Rep_cmpsw_faults_at_the_iteration_whose_source_word_crosses_ffff()
    {
        // REPE CMPSW with SI = FFEDh, DF = 0, CX = 28h: nine iterations complete (SI = FFFFh), the tenth reads a word at FFFFh.
        JsonElement test = Case([0xF3, 0xA7, 0xF4], si: 0xFFED, di: 0x5F89, cx: 0x28, exception: 13);
        ModelledFault fault = Sst286FaultModel.Expect("string-fault", test, out _)!;
        Assert.Equal(Sst286FaultModel.GeneralProtection, fault.Vector);
        Assert.Equal(9, fault.Iterations);
        Assert.Equal(0xFFFF, fault.Registers[6]);
        Assert.Equal(0x5F89 + 18, fault.Registers[7]);
        Assert.Equal(0x28 - 9, fault.Registers[1]);
    }

    [Fact]
    public void A_string_source_through_ss_is_modelled_as_ss()
    {
        JsonElement test = Case([0x36, 0xAD, 0xF4], si: 0xFFFF, exception: 13); // ss: lodsw
        Assert.Equal(Sst286FaultModel.StackFault, Sst286FaultModel.Expect("string-fault", test, out _)!.Vector);
        Assert.True(Sst286FaultModel.AccessGoesThroughSs(test));
    }

    [Fact]
    public void Pop_to_memory_keeps_sp_and_faults_on_the_destination_segment()
    {
        JsonElement test = Case([0x8F, 0x07, 0xF4], bx: 0xFFFF, sp: 0x0200, exception: 13); // pop word [bx]
        ModelledFault fault = Sst286FaultModel.Expect("pop-fault", test, out _)!;
        Assert.Equal(Sst286FaultModel.GeneralProtection, fault.Vector);
        Assert.Equal(0x0200, fault.Registers[4]);
    }

    [Theory]
    [InlineData(new byte[] { 0x8B, 0x46, 0x00, 0xF4 }, true)] // mov ax, [bp+0] with BP = FFFFh: SS
    [InlineData(new byte[] { 0x8B, 0x07, 0xF4 }, false)] // mov ax, [bx] with BX = FFFFh: DS
    [InlineData(new byte[] { 0x58, 0xF4 }, true)] // pop ax with SP = FFFFh: the stack
    [InlineData(new byte[] { 0xC9, 0xF4 }, false)] // leave: the SDM's real-mode exception for LEAVE is #GP
    public void Ss_is_the_faulting_segment_only_for_accesses_through_ss(byte[] bytes, bool throughSs)
    {
        JsonElement test = Case(bytes, bx: 0xFFFF, bp: 0xFFFF, sp: 0xFFFF, exception: 13);
        Assert.Equal(throughSs, Sst286FaultModel.AccessGoesThroughSs(test));
    }

    [Fact]
    public void The_checked_in_known_failure_list_parses_and_gives_every_entry_a_reason()
    {
        IReadOnlyDictionary<string, string> entries = Sst286Suite.LoadKnownFailures(Path.Combine(AppContext.BaseDirectory, Sst286Suite.KnownFailuresFile));
        Assert.NotEmpty(entries);
        Assert.All(entries, e => Assert.Matches(@"^[0-9A-F]{1,2}(\.[0-7])? #\d+: \S.{20,}", e.Value));
    }

    [Theory]
    [InlineData("1b586a46891182a22b3f55f71e4db4c601ac26e4 C7 #1685:")]
    [InlineData("1b586a46 C7 #1685: too short a hash")]
    [InlineData("1b586a46891182a22b3f55f71e4db4c601ac26e4 C7 #1685 no colon")]
    public void A_malformed_known_failure_line_is_refused_with_its_line_number(string line)
    {
        string path = Path.Combine(Path.GetTempPath(), $"virt-sst-{Guid.NewGuid():N}.txt");
        File.WriteAllLines(path, ["# comment", line]);
        try
        {
            var error = Assert.Throws<InvalidDataException>(() => Sst286Suite.LoadKnownFailures(path));
            Assert.Contains(":2:", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static JsonElement Case(byte[] bytes, int ax = 0, int bx = 0, int cx = 0, int sp = 0x100, int bp = 0, int si = 0, int di = 0, int exception = -1)
    {
        var test = new Dictionary<string, object>
        {
            ["bytes"] = bytes.Select(b => (int)b).ToArray(),
            ["initial"] = new Dictionary<string, object>
            {
                ["regs"] = new Dictionary<string, int>
                {
                    ["ax"] = ax, ["bx"] = bx, ["cx"] = cx, ["dx"] = 0, ["sp"] = sp, ["bp"] = bp, ["si"] = si, ["di"] = di,
                    ["cs"] = 0x1000, ["ds"] = 0x2000, ["es"] = 0x3000, ["ss"] = 0x4000, ["ip"] = 0x100, ["flags"] = 0xF002,
                },
                ["ram"] = Array.Empty<int[]>(),
            },
        };
        if (exception >= 0)
        {
            test["exception"] = new Dictionary<string, int> { ["number"] = exception };
        }

        return JsonDocument.Parse(JsonSerializer.Serialize(test)).RootElement;
    }
}
