using Virt.Cpu;
using Virt.Memory;
using X86Cpu = Virt.Cpu.Cpu;

namespace Virt.Fuzz.Tests;

public sealed class GuestEnvironmentTests
{
    private const ulong Cr0Pe = 1;
    private const ulong Cr0Pg = 1UL << 31;
    private const ulong Cr4Pae = 1UL << 5;
    private const uint FlagVm = 1u << 17;

    /// <summary>Builds the case's world and steps the prologue until CS.base + EIP reaches the generated code.</summary>
    private static X86Cpu EnterCode(FuzzMode mode, ulong seed)
    {
        PhysicalMemoryMap memory = new PhysicalMemoryMapBuilder()
            .AddRam("low", new PhysicalAddress(0), GuestLayout.LowRamSizeInBytes)
            .AddRam("high", new PhysicalAddress(0x100000), GuestLayout.HighRamSizeInBytes)
            .Build();
        var cpu = new X86Cpu(memory, new IoPortSpace());
        FuzzCase guest = FuzzCase.Generate(seed, mode, FuzzGenerator.RandomBytes, FuzzLevel.Cpu, 1000);
        GuestEnvironment.Apply(memory, cpu, guest);
        for (int step = 0; step < 200; step++)
        {
            if (cpu.GetSegment(SegmentRegister.Cs).Base + cpu.Eip == GuestLayout.CodeAddress)
            {
                return cpu;
            }

            Assert.Equal(StopReason.BudgetExhausted, cpu.Step());
        }

        throw new InvalidOperationException($"{mode}: the prologue did not reach the code");
    }

    public static TheoryData<FuzzMode> Modes() => [.. Enum.GetValues<FuzzMode>()];

    [Theory]
    [MemberData(nameof(Modes))]
    public void The_prologue_enters_the_mode_of_the_case(FuzzMode mode)
    {
        for (ulong seed = 1; seed <= 8; seed++)
        {
            X86Cpu cpu = EnterCode(mode, seed);
            SegmentState cs = cpu.GetSegment(SegmentRegister.Cs);
            bool paging = (cpu.Cr0 & Cr0Pg) != 0;
            bool v86 = (cpu.Flags & FlagVm) != 0;
            switch (mode)
            {
                case FuzzMode.RealMode:
                    Assert.Equal(0UL, cpu.Cr0 & Cr0Pe);
                    Assert.Equal((ushort)(GuestLayout.CodeAddress >> 4), cs.Selector);
                    break;
                case FuzzMode.Protected16:
                case FuzzMode.Protected16Paging:
                    Assert.Equal(GuestLayout.Code16, cs.Selector);
                    Assert.Equal(0, cs.Attributes & SegmentState.DefaultBigBit);
                    Assert.Equal(mode == FuzzMode.Protected16Paging, paging);
                    break;
                case FuzzMode.Protected32:
                case FuzzMode.Protected32Paging:
                    Assert.Equal(GuestLayout.FlatCode, cs.Selector);
                    Assert.Equal(mode == FuzzMode.Protected32Paging, paging);
                    Assert.Equal(0UL, cpu.Cr4 & Cr4Pae);
                    break;
                case FuzzMode.Pae:
                    Assert.True(paging);
                    Assert.Equal(Cr4Pae, cpu.Cr4 & Cr4Pae);
                    Assert.Equal(GuestLayout.PaePdptAddress, cpu.Cr3);
                    break;
                case FuzzMode.Ring3:
                    Assert.True(paging);
                    Assert.Equal(3, cpu.Cpl);
                    Assert.Equal(GuestLayout.FlatCode3, cs.Selector);
                    break;
                default:
                    Assert.True(paging);
                    Assert.True(v86);
                    Assert.Equal(3, cpu.Cpl);
                    break;
            }

            Assert.Equal(mode == FuzzMode.Virtual8086, v86);
            Assert.Equal(mode != FuzzMode.RealMode, (cpu.Cr0 & Cr0Pe) != 0);
            Assert.Equal(mode == FuzzMode.RealMode ? 0 : GuestLayout.Tss, cpu.TaskRegister.Selector);
        }
    }

    [Fact]
    public void The_policy_of_most_seeds_is_skip_and_every_policy_occurs()
    {
        var counts = new Dictionary<HandlerPolicy, int>();
        for (ulong seed = 0; seed < 1000; seed++)
        {
            HandlerPolicy policy = GuestEnvironment.PolicyOf(seed);
            counts[policy] = counts.GetValueOrDefault(policy) + 1;
        }

        Assert.Equal(4, counts.Count);
        Assert.True(counts[HandlerPolicy.Skip] > 600);
    }

    [Fact]
    public void A_skip_handler_returns_one_byte_past_the_faulting_instruction()
    {
        // UD2 at the code start with the skip policy: the #UD handler returns to code + 1, the second byte of UD2, where
        // 0B C0 is OR EAX, EAX, and the HLT after it ends the guest (instead of faulting in place until the budget ends).
        ulong seed = Enumerable.Range(1, 100).Select(s => (ulong)s).First(s => GuestEnvironment.PolicyOf(s) == HandlerPolicy.Skip);
        PhysicalMemoryMap memory = new PhysicalMemoryMapBuilder().AddRam("low", new PhysicalAddress(0), GuestLayout.LowRamSizeInBytes).Build();
        var cpu = new X86Cpu(memory, new IoPortSpace());
        byte[] code = [0x0F, 0x0B, 0xC0, 0xF4];
        GuestEnvironment.Apply(memory, cpu, new FuzzCase(seed, FuzzMode.Protected32, FuzzGenerator.DecodableInstructions, FuzzLevel.Cpu, 1000, code));

        StopReason reason = cpu.Run(1000);

        // Whatever the random handler of #UD is (skip, or one of the few halt handlers), the guest stops at a HLT.
        Assert.Equal(StopReason.Halted, reason);
        Assert.True(cpu.Eip == GuestLayout.CodeAddress + (uint)code.Length || (cpu.Eip - GuestLayout.HandlerBase) / GuestLayout.HandlerStride == 6, $"EIP {cpu.Eip:X8}");
    }
}
