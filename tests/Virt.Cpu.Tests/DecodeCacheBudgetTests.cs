using Iced.Intel;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests;

/// <summary>
/// The decode cache stays within <see cref="CpuOptions.DecodeCacheBudgetInBytes"/> (issue 11): a guest that CALLs every byte
/// of a sled decodes a new block per byte, which once grew the host heap by gigabytes.
/// </summary>
public sealed class DecodeCacheBudgetTests
{
    private const long SmallBudget = 1024 * 1024;
    private const int SledGroupBytes = 64;
    private const byte IncEax = 0x40;
    private const byte IncEcx = 0x41;
    private const byte Ret = 0xC3;

    [Fact]
    public void Sled_guest_stays_within_a_small_budget_and_computes_the_right_checksum()
    {
        const int sledBytes = 32 * 1024;
        const int rounds = 3;
        var guest = new SledGuest(new CpuOptions { DecodeCacheBudgetInBytes = SmallBudget }, sledBytes, rounds);

        long peak = 0;
        StopReason reason;
        int slices = 0;
        do
        {
            reason = guest.Cpu.Run(50_000);
            peak = Math.Max(peak, guest.Cpu.DecodeCacheSizeInBytes);
            Assert.InRange(guest.Cpu.DecodeCacheSizeInBytes, 0, SmallBudget);
            slices++;
        }
        while (reason == StopReason.BudgetExhausted && slices < 10_000);

        Assert.Equal(StopReason.Halted, reason);
        guest.AssertChecksums();
        Assert.Equal(guest.ExpectedRetiredInstructions(), guest.Cpu.RetiredInstructions);
        Assert.True(guest.Cpu.RetiredInstructions > 3_000_000, $"only {guest.Cpu.RetiredInstructions} instructions");

        // Every block was decoded once per round at least, far more than the budget holds: the cache was emptied many times.
        Assert.True(guest.Cpu.DecodeCacheEvictions >= rounds, $"{guest.Cpu.DecodeCacheEvictions} evictions");
        Assert.True(peak > SmallBudget / 2, $"peak {peak}");
    }

    [Fact]
    public void Sled_guest_cache_grows_beyond_the_small_budget_without_it()
    {
        // The counterpart of the test above: with the default budget the same guest's blocks take far more than 1 MiB.
        var guest = new SledGuest(new CpuOptions(), sledBytes: 32 * 1024, rounds: 1);
        Assert.Equal(StopReason.Halted, guest.Cpu.Run(10_000_000));
        guest.AssertChecksums();
        Assert.True(guest.Cpu.DecodeCacheSizeInBytes > 4 * SmallBudget, $"{guest.Cpu.DecodeCacheSizeInBytes} bytes");
        Assert.Equal(0, guest.Cpu.DecodeCacheEvictions);
    }

    [Fact]
    public void Evicted_code_is_decoded_again_and_a_rewrite_after_the_eviction_takes_effect()
    {
        const uint hotLoop = 0x1000;
        const uint sledProgram = 0x3000;
        var guest = new SledGuest(new CpuOptions { DecodeCacheBudgetInBytes = CpuOptions.MinimumDecodeCacheBudgetInBytes }, sledBytes: 16 * 1024, rounds: 1, sledProgram);

        // The hot loop adds an immediate (at hotLoop + 7) to EDX ten times.
        //   hotLoop:     31 D2          xor edx, edx
        //                B9 0A 00 00 00 mov ecx, 10
        //   again:       83 C2 03       add edx, 3
        //                E2 FB          loop again
        //                F4             hlt
        guest.Memory.Write(new PhysicalAddress(hotLoop), [0x31, 0xD2, 0xB9, 0x0A, 0x00, 0x00, 0x00, 0x83, 0xC2, 0x03, 0xE2, 0xFB, 0xF4]);
        const uint immediate = hotLoop + 9;

        guest.Enter(hotLoop);
        Assert.Equal(StopReason.Halted, guest.Cpu.Run(1000));
        Assert.Equal(30UL, guest.Cpu.GetRegister(GeneralRegister.Rdx));
        long decodedBefore = guest.Cpu.BlocksDecoded;
        long evictionsBefore = guest.Cpu.DecodeCacheEvictions;

        // The sled evicts everything; then the hot loop is patched. Its page holds no cached block any more, so it is no
        // longer marked as code and nothing tells the CPU about the write: only a cache that really dropped the block is right.
        guest.Enter(sledProgram);
        Assert.Equal(StopReason.Halted, guest.Cpu.Run(10_000_000));
        guest.AssertChecksums();
        Assert.True(guest.Cpu.DecodeCacheEvictions > evictionsBefore);
        Assert.Equal(3, guest.Memory.ReadByte(new PhysicalAddress(immediate)));
        guest.Memory.WriteByte(new PhysicalAddress(immediate), 5);

        guest.Enter(hotLoop);
        long sledDecoded = guest.Cpu.BlocksDecoded;
        Assert.Equal(StopReason.Halted, guest.Cpu.Run(1000));
        Assert.Equal(50UL, guest.Cpu.GetRegister(GeneralRegister.Rdx));
        Assert.True(guest.Cpu.BlocksDecoded > sledDecoded, "the hot loop was decoded again");
        Assert.True(sledDecoded > decodedBefore);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(-1L)]
    [InlineData(CpuOptions.MinimumDecodeCacheBudgetInBytes - 1)]
    public void Budget_below_the_minimum_is_refused_naming_the_option(long budget)
    {
        ArgumentOutOfRangeException e = Assert.Throws<ArgumentOutOfRangeException>(() => new CpuOptions { DecodeCacheBudgetInBytes = budget });
        Assert.Equal(nameof(CpuOptions.DecodeCacheBudgetInBytes), e.ParamName);
        Assert.Contains("DecodeCacheBudgetInBytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Default_and_minimum_budgets_are_accepted()
    {
        Assert.Equal(CpuOptions.DefaultDecodeCacheBudgetInBytes, new CpuOptions().DecodeCacheBudgetInBytes);
        Assert.Equal(
            CpuOptions.MinimumDecodeCacheBudgetInBytes,
            new CpuOptions { DecodeCacheBudgetInBytes = CpuOptions.MinimumDecodeCacheBudgetInBytes }.DecodeCacheBudgetInBytes);
    }

    [Fact]
    public void Minimum_budget_holds_many_of_the_largest_blocks()
    {
        long largest = Cpu.EstimateBlockBytes(64, spansPages: true);
        Assert.True(CpuOptions.MinimumDecodeCacheBudgetInBytes / largest >= 64, $"largest block {largest} bytes");
    }

    [Fact]
    public void Flushing_the_cache_brings_its_size_back_to_0()
    {
        var guest = new SledGuest(new CpuOptions(), sledBytes: 4096, rounds: 1);
        Assert.Equal(StopReason.Halted, guest.Cpu.Run(1_000_000));
        Assert.True(guest.Cpu.DecodeCacheSizeInBytes > 0);
        guest.Cpu.FlushDecodeCache();
        Assert.Equal(0, guest.Cpu.DecodeCacheSizeInBytes);
        Assert.Equal(0, guest.Cpu.CachedBlockCount);
    }

    /// <summary>
    /// 32-bit flat code that CALLs every byte of a sled of 64-byte groups (63 pseudo-random INC EAX / INC ECX, then RET), so
    /// each byte starts a block of its own; EAX and ECX end up as checksums the test computes from the sled bytes.
    /// </summary>
    internal sealed class SledGuest
    {
        public const uint StackTop = 0x8000;
        public const uint SledStart = 0x100000;
        private const uint DefaultProgram = 0x2000;
        private readonly byte[] _sled;
        private readonly int _rounds;

        public SledGuest(CpuOptions options, int sledBytes, int rounds, uint program = DefaultProgram)
        {
            var machine = new CpuHarness(options, ramBytes: 4 * 1024 * 1024);
            Memory = machine.Memory;
            Cpu = machine.Cpu;
            _rounds = rounds;
            _sled = new byte[sledBytes];
            uint seed = 12345;
            for (int i = 0; i < sledBytes; i++)
            {
                seed = (seed * 1103515245) + 12345;
                _sled[i] = i % SledGroupBytes == SledGroupBytes - 1 ? Ret : ((seed >> 16) & 1) == 0 ? IncEax : IncEcx;
            }

            Memory.Write(new PhysicalAddress(SledStart), _sled);
            var a = new Assembler(32);
            Label outer = a.CreateLabel();
            Label inner = a.CreateLabel();
            a.mov(esi, SledStart);
            a.mov(edi, SledStart + (uint)sledBytes);
            a.xor(eax, eax);
            a.xor(ecx, ecx);
            a.mov(ebp, rounds);
            a.Label(ref outer);
            a.mov(ebx, esi);
            a.Label(ref inner);
            a.call(ebx);
            a.inc(ebx);
            a.cmp(ebx, edi);
            a.jb(inner);
            a.dec(ebp);
            a.jnz(outer);
            a.hlt();
            using var stream = new MemoryStream();
            a.Assemble(new StreamCodeWriter(stream), program);
            Memory.Write(new PhysicalAddress(program), stream.ToArray());
            Enter(program);
        }

        public PhysicalMemoryMap Memory { get; }

        public Cpu Cpu { get; }

        /// <summary>Resets the CPU (which keeps its decode cache) and enters flat 32-bit protected mode at CPL 0 at <paramref name="eip"/>.</summary>
        public void Enter(uint eip)
        {
            Cpu.Reset();
            Cpu.Cr0 |= 1;
            Cpu.LoadSegmentFromDescriptor(SegmentRegister.Cs, 0x08, 0x00CF_9A00_0000_FFFF);
            foreach (SegmentRegister s in new[] { SegmentRegister.Ds, SegmentRegister.Es, SegmentRegister.Ss })
            {
                Cpu.LoadSegmentFromDescriptor(s, 0x10, 0x00CF_9200_0000_FFFF);
            }

            Cpu.Eip = eip;
            Cpu.SetRegister(GeneralRegister.Rsp, StackTop);
        }

        /// <summary>
        /// Five set-up instructions; per round MOV EBX, per sled byte CALL, the INCs up to the RET, RET, INC EBX, CMP, JB, and
        /// DEC EBP, JNZ; then HLT.
        /// </summary>
        public long ExpectedRetiredInstructions()
        {
            long perRound = 1 + 2;
            for (int target = 0; target < _sled.Length; target++)
            {
                int end = target;
                while (_sled[end] != Ret)
                {
                    end++;
                }

                perRound += end - target + 5;
            }

            return 5 + (_rounds * perRound) + 1;
        }

        /// <summary>EAX and ECX hold, per round, the number of INC EAX and INC ECX run from every sled byte up to its RET.</summary>
        public void AssertChecksums()
        {
            ulong incEax = 0;
            ulong incEcx = 0;
            for (int target = 0; target < _sled.Length; target++)
            {
                for (int i = target; _sled[i] != Ret; i++)
                {
                    if (_sled[i] == IncEax)
                    {
                        incEax++;
                    }
                    else
                    {
                        incEcx++;
                    }
                }
            }

            Assert.True(incEax > 0 && incEcx > 0);
            Assert.Equal((uint)((ulong)_rounds * incEax), (uint)Cpu.GetRegister(GeneralRegister.Rax));
            Assert.Equal((uint)((ulong)_rounds * incEcx), (uint)Cpu.GetRegister(GeneralRegister.Rcx));
        }
    }
}
