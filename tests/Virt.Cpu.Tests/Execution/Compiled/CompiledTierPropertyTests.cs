using FsCheck.Xunit;
using Iced.Intel;
using Virt.Cpu.Tests.LongMode;
using Virt.Cpu.Tests.ProtectedMode;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Cpu.Tests.Execution.Compiled;

/// <summary>
/// The compiled tier against the interpreter on random guest code: straight-line and branching runs of integer, memory,
/// flag-reading and faulting instructions (assembled with Iced), 16-bit forms included, from random registers and flags, in
/// random slices of the budget, with or without a timer interrupting from virtual time, must leave byte-identical state, RAM,
/// retired counts and faults after every slice.
/// </summary>
public sealed class CompiledTierPropertyTests
{
    /// <summary>EBP holds the base of the data area the memory operands use.</summary>
    private const uint DataBase = 0x20000;

    /// <summary>The vector of the timer of <see cref="AttachTimer"/>.</summary>
    private const byte TimerVector = 0x20;

    /// <summary>EFLAGS.IF.</summary>
    private const uint InterruptFlag = 0x200;

    /// <summary>How many kinds of instruction <see cref="EmitInstruction"/> knows.</summary>
    private const int InstructionKinds = 80;

    private static readonly AssemblerRegister32[] s_destinations = [eax, ecx, edx, ebx, esi, edi];
    private static readonly AssemblerRegister32[] s_sources = [eax, ecx, edx, ebx, esi, edi, ebp];
    private static readonly AssemblerRegister8[] s_bytes = [al, cl, dl, bl, ah, ch, dh, bh];
    private static readonly AssemblerRegister16[] s_words = [ax, cx, dx, bx, si, di];
    private static readonly int[] s_vectors = [0, 1, 3, 4, 5, 6, 12, 13, 14];
    private static readonly AssemblerRegister64[] s_longs = [rax, rcx, rdx, rbx, rsi, rdi, r8, r9, r10, r11];
    private static readonly AssemblerRegister32[] s_longDwords = [eax, ecx, edx, ebx, esi, edi, r8d, r9d, r10d, r11d];
    private static readonly AssemblerRegister16[] s_longWords = [ax, cx, dx, bx, si, di, r8w, r9w, r10w, r11w];
    private static readonly AssemblerRegister8[] s_longBytes = [al, cl, dl, bl, sil, dil, r8b, r9b, r10b, r11b];

    [Property(MaxTest = 200)]
    public void Random_blocks_leave_the_same_state_in_both_tiers(uint seed, uint[] program, uint[] registers, uint flags, byte[] slices, byte mode)
    {
        registers ??= [];

        // FsCheck's arrays stay short at its small sizes: the program is what it drew, continued from the seed to 16-48
        // instructions, so that blocks are long enough to keep registers and flags in locals across many instructions.
        byte[] code = Build(Extend(program ?? [], seed));
        int compileThreshold = mode % 3;

        // Half the runs go in slices that end wherever they fall (within a block too), as a machine's timer deadlines do.
        slices = (mode & 8) != 0 ? slices ?? [] : [];
        var interpreter = new ProtectedModeHarness(options: TierComparison.Interpreter);
        var compiled = new ProtectedModeHarness(options: TierComparison.Compiled(compileThreshold));
        Prepare(interpreter, code, registers, flags);
        Prepare(compiled, code, registers, flags);

        // Half the runs with IF set and a timer driven by the retired count, so that interrupts fall inside blocks and
        // inside chains of compiled blocks.
        if ((mode & 16) != 0)
        {
            AttachTimer(interpreter, seed);
            AttachTimer(compiled, seed);
        }

        long total = 0;
        for (int i = 0; i <= slices.Length && total < 4000; i++)
        {
            // The last slice runs to the end.
            long budget = i < slices.Length ? 1 + slices[i] : 4000 - total;
            StopReason expected = interpreter.Cpu.Run(budget);
            StopReason actual = compiled.Cpu.Run(budget);
            Assert.Equal(expected, actual);
            total += budget;
            bool last = expected is StopReason.Halted or StopReason.Shutdown || i == slices.Length || total >= 4000;
            TierComparison.AssertSameState(interpreter.Cpu, interpreter.Memory, compiled.Cpu, compiled.Memory, CpuHarness.DefaultRamBytes, $"slice {i}", compareRam: last);
            if (last)
            {
                break;
            }
        }

        // With threshold 0 the first block is compiled on its first entry (even when the first slice stops inside it).
        if (compileThreshold == 0)
        {
            Assert.True(compiled.Cpu.CompiledTierStatistics.BlocksCompiled > 0, "nothing was compiled");
        }
    }

    [Property(MaxTest = 150)]
    public void Random_register_blocks_in_64_bit_code_leave_the_same_state(uint seed, uint[] program, ulong[] registers, ulong flags, byte[] slices, byte mode)
    {
        uint[] words = Extend(program ?? [], seed);
        int threshold = mode % 3;
        LongModeHarness interpreter = PrepareLong(TierComparison.Interpreter, words, registers ?? [], flags);
        LongModeHarness compiled = PrepareLong(TierComparison.Compiled(threshold), words, registers ?? [], flags);
        slices = (mode & 8) != 0 ? slices ?? [] : [];
        long total = 0;
        for (int i = 0; i <= slices.Length && total < 3000; i++)
        {
            long budget = i < slices.Length ? 1 + slices[i] : 3000 - total;
            StopReason expected = interpreter.Cpu.Run(budget);
            StopReason actual = compiled.Cpu.Run(budget);
            Assert.Equal(expected, actual);
            total += budget;
            bool last = expected is StopReason.Halted or StopReason.Shutdown || i == slices.Length || total >= 3000;
            TierComparison.AssertSameState(interpreter.Cpu, interpreter.Memory, compiled.Cpu, compiled.Memory, 1024 * 1024, $"slice {i}", compareRam: last);
            if (last)
            {
                break;
            }
        }

        if (threshold == 0)
        {
            Assert.True(compiled.Cpu.CompiledTierStatistics.BlocksCompiled > 0, "nothing was compiled");
        }
    }

    [Fact]
    public void A_hot_loop_is_compiled_and_counts_exactly()
    {
        // 1000 iterations of a six-instruction body: register ALU, LEA, a load, a store, and the loop branch.
        var interpreter = new ProtectedModeHarness(options: TierComparison.Interpreter);
        var compiled = new ProtectedModeHarness(options: TierComparison.Compiled(threshold: 10));
        foreach (ProtectedModeHarness machine in new[] { interpreter, compiled })
        {
            machine.Load(a =>
            {
                Label top = a.CreateLabel();
                a.mov(ecx, 1000);
                a.mov(ebp, DataBase);
                a.Label(ref top);
                a.add(eax, ecx);
                a.lea(edx, __[eax + ecx * 4 + 7]);
                a.mov(__dword_ptr[ebp + 8], edx);
                a.xor(ebx, __dword_ptr[ebp + 8]);
                a.dec(ecx);
                a.jne(top);
                a.hlt();
            });
            Assert.Equal(StopReason.Halted, machine.Cpu.Run(100_000));
        }

        TierComparison.AssertSameState(interpreter.Cpu, interpreter.Memory, compiled.Cpu, compiled.Memory, CpuHarness.DefaultRamBytes, "end");
        Assert.Equal(2 + (6 * 1000) + 1, compiled.Cpu.RetiredInstructions);
        CompiledTierStatistics statistics = compiled.Cpu.CompiledTierStatistics;
        Assert.True(statistics.BlocksCompiled >= 1, "the loop body was not compiled");
        Assert.True(statistics.CompiledBlockEntries >= 900, $"only {statistics.CompiledBlockEntries} compiled entries");
        Assert.Equal(default, interpreter.Cpu.CompiledTierStatistics);
    }

    private static void Prepare(ProtectedModeHarness machine, byte[] code, uint[] registers, uint flags)
    {
        machine.Load(a => a.db(code));
        foreach (int vector in s_vectors)
        {
            machine.InstallGate(vector);
        }

        for (int i = 0; i < s_destinations.Length; i++)
        {
            GeneralRegister r = s_destinations[i].Value switch
            {
                Register.EAX => GeneralRegister.Rax,
                Register.ECX => GeneralRegister.Rcx,
                Register.EDX => GeneralRegister.Rdx,
                Register.EBX => GeneralRegister.Rbx,
                Register.ESI => GeneralRegister.Rsi,
                _ => GeneralRegister.Rdi,
            };
            machine.Cpu.SetRegister(r, i < registers.Length ? registers[i] : (uint)(i * 0x01010101));
        }

        machine.Cpu.SetRegister(GeneralRegister.Rbp, DataBase);

        // The status flags only (CF PF AF ZF SF OF): no TF, IF or DF surprises.
        machine.Cpu.Flags = (flags & 0x8D5) | 2;
    }

    private static LongModeHarness PrepareLong(CpuOptions options, uint[] program, ulong[] registers, ulong flags)
    {
        var machine = new LongModeHarness(options: options);
        machine.Load(a => Build64(a, program));

        // The 32-bit entry code runs first, interpreted by both; then the 64-bit code from these registers and flags.
        for (int i = 0; i < 100 && machine.Cpu.Eip != LongModeHarness.CodeAddress; i++)
        {
            machine.Cpu.Run(1);
        }

        Assert.Equal((ulong)LongModeHarness.CodeAddress, machine.Cpu.Eip);
        for (int i = 0; i < s_longs.Length; i++)
        {
            GeneralRegister r = (GeneralRegister)(s_longs[i].Value - Register.RAX);
            machine.Cpu.SetRegister(r, i < registers.Length ? registers[i] : (ulong)(i * 0x0123_4567_89AB_CDEFL));
        }

        machine.Cpu.SetRegister(GeneralRegister.Rsp, LongModeHarness.StackTop);
        machine.Cpu.Flags = ((uint)flags & 0x8D5) | 2;
        return machine;
    }

    private static void Build64(Assembler a, uint[] program)
    {
        int count = Math.Min(program.Length, 48);
        Label[] labels = new Label[count + 1];
        for (int i = 0; i <= count; i++)
        {
            labels[i] = a.CreateLabel();
        }

        for (int i = 0; i < count; i++)
        {
            a.Label(ref labels[i]);
            uint w = program[i];
            Emit64(a, w, labels[Math.Min(i + 1 + (int)((w >> 28) & 3), count)], labels[Math.Max(0, i - 1 - (int)((w >> 28) & 3))]);
        }

        a.Label(ref labels[count]);
        a.hlt();
    }

    /// <summary>
    /// 64-bit code of the register forms the compiled tier generates, with 64-, 32- and 16-bit operands (and the REX byte
    /// registers), between flag producers and consumers.
    /// </summary>
    private static void Emit64(Assembler a, uint w, Label forward, Label earlier)
    {
        int di = (int)((w >> 8) % (uint)s_longs.Length);
        int si = (int)((w >> 12) % (uint)s_longs.Length);
        AssemblerRegister64 d = s_longs[di];
        AssemblerRegister64 s = s_longs[si];
        AssemblerRegister32 d32 = s_longDwords[di];
        AssemblerRegister32 s32 = s_longDwords[si];
        AssemblerRegister16 dw = s_longWords[di];
        AssemblerRegister16 sw = s_longWords[si];
        AssemblerRegister8 b = s_longBytes[(w >> 16) % (uint)s_longBytes.Length];
        int imm = (int)(w >> 16) - 0x8000;
        int cc = (int)((w >> 24) & 0xF);
        byte count = (byte)(w >> 22);
        switch (w % 28)
        {
            case 0: a.add(d, s); break;
            case 1: a.sub(d, imm); break;
            case 2:
                a.cmp(d, s);
                Jcc(a, cc, forward);
                break;
            case 3: a.and(d32, s32); break;
            case 4: a.inc(d); break;
            case 5: a.dec(dw); break;
            case 6:
                Producer64(a, w >> 2, d, s);
                Shift64(a, w >> 4, d, count);
                Jcc(a, cc, forward);
                break;
            case 7:
                Producer64(a, w >> 2, d, s);
                Shift(a, w >> 4, d32, count);
                Setcc(a, cc, b);
                break;
            case 8:
                Producer64(a, w >> 2, d, s);
                Shift(a, w >> 4, dw, count);
                Jcc(a, cc, forward);
                break;
            case 9:
                // CL counts of 0, 32 and 64 (masked to 0 or not), beyond 32 for 64-bit operands.
                a.mov(cl, (byte)((w >> 20) % 72));
                Producer64(a, w >> 2, d, s);
                if ((w & 0x40) != 0)
                {
                    ShiftByCl64(a, w >> 4, d);
                }
                else
                {
                    ShiftByCl(a, w >> 4, d32);
                }

                Jcc(a, cc, forward);
                break;
            case 10:
                Producer64(a, w >> 2, d, s);
                if ((w & 0x40) != 0)
                {
                    if ((w & 0x80) != 0)
                    {
                        a.rol(d, count);
                    }
                    else
                    {
                        a.ror(d, count);
                    }
                }
                else
                {
                    Rotate(a, w >> 7, d32, count);
                }

                Jcc(a, cc, forward);
                break;
            case 11:
                Producer64(a, w >> 2, d, s);
                switch ((w >> 5) & 3)
                {
                    case 0: a.adc(d, s); break;
                    case 1: a.sbb(d, s); break;
                    case 2: a.adc(d, imm); break;
                    default: a.sbb(d, imm); break;
                }

                Jcc(a, cc, forward);
                break;
            case 12:
                Producer64(a, w >> 2, d, s);
                Carry(a, w >> 5, d32, s32);
                Carry(a, w >> 7, dw, sw);
                Setcc(a, cc, b);
                break;
            case 13:
                Producer64(a, w >> 2, d, s);
                switch ((w >> 5) & 3)
                {
                    case 0: a.neg(d); break;
                    case 1: a.not(d); break;
                    case 2: a.neg(d32); break;
                    default: a.not(dw); break;
                }

                Jcc(a, cc, forward);
                break;
            case 14:
                Producer64(a, w >> 2, d, s);
                switch ((w >> 5) & 3)
                {
                    case 0: a.imul(d, s); break;
                    case 1: a.imul(d, s, imm * 0x1001); break;
                    case 2: a.imul(d32, s32, imm); break;
                    default: a.imul(dw, sw); break;
                }

                Jcc(a, cc, forward);
                break;
            case 15:
                switch ((w >> 4) & 7)
                {
                    case 0: a.movzx(d, b); break;
                    case 1: a.movsx(d, b); break;
                    case 2: a.movzx(d32, sw); break;
                    case 3: a.movsx(d, sw); break;
                    case 4: a.movsxd(d, s32); break;
                    case 5: a.movsx(dw, b); break;
                    case 6: a.movzx(d, sw); break;
                    default: a.movsx(d32, b); break;
                }

                break;
            case 16:
                switch ((w >> 4) & 3)
                {
                    case 0: a.xchg(d, s); break;
                    case 1: a.xchg(d32, s32); break;
                    case 2: a.xchg(dw, sw); break;
                    default: a.xchg(d32, d32); break;
                }

                break;
            case 17:
                switch ((w >> 4) & 7)
                {
                    case 0: a.cdqe(); break;
                    case 1: a.cqo(); break;
                    case 2: a.cwde(); break;
                    case 3: a.cdq(); break;
                    case 4: a.cbw(); break;
                    default: a.cwd(); break;
                }

                break;
            case 18:
                Producer64(a, w >> 2, d, s);
                Setcc(a, cc, b);
                break;
            case 19:
                Producer64(a, w >> 2, d, s);
                if ((w & 0x40) != 0)
                {
                    Cmovcc64(a, cc, d, s);
                }
                else
                {
                    Cmovcc(a, cc, d32, s32);
                }

                break;
            case 20:
                Producer64(a, w >> 2, d, s);
                switch ((w >> 5) & 7)
                {
                    case 0: a.bt(d, count); break;
                    case 1: a.bts(d, count); break;
                    case 2: a.btr(d, s); break;
                    case 3: a.btc(d, s); break;
                    default: BitTest(a, w >> 6, d32, s32, count); break;
                }

                Jcc(a, cc, forward);
                break;
            case 21:
                // The benchmark loop's pair.
                a.shl(d, 1);
                a.adc(s, 0);
                a.dec(d);
                Jcc(a, cc, forward);
                break;
            case 22: Jcc(a, cc, forward); break;
            case 23:
                // A backward branch: loops, which the budget bounds.
                Jcc(a, cc, earlier);
                break;
            case 24: a.mov(d, ((ulong)w << 32) | (w * 0x9E37_79B9u)); break;
            case 25:
                Producer64(a, w >> 2, d, s);
                a.pushfq();
                a.pop(s);
                break;
            case 26:
                Shift64(a, w >> 4, d, count);
                a.inc(s);
                a.adc(d, s);
                break;
            default:
                Producer64(a, w >> 2, d, s);
                Shift64(a, w >> 4, d, (byte)(count & 0x40));
                Carry(a, w >> 6, d32, d32);
                Carry(a, w >> 8, d32, s32);
                break;
        }
    }

    private static void Producer64(Assembler a, uint w, AssemblerRegister64 d, AssemblerRegister64 s)
    {
        switch (w & 7)
        {
            case 0: a.add(d, s); break;
            case 1: a.sub(d, s); break;
            case 2: a.cmp(d, s); break;
            case 3: a.xor(d, s); break;
            case 4: a.dec(d); break;
            case 5: a.shr(d, 1); break;
            case 6: a.sbb(d, s); break;
            default: break;
        }
    }

    private static void Shift64(Assembler a, uint w, AssemblerRegister64 d, byte count)
    {
        switch (w % 3)
        {
            case 0: a.shl(d, count); break;
            case 1: a.shr(d, count); break;
            default: a.sar(d, count); break;
        }
    }

    private static void ShiftByCl64(Assembler a, uint w, AssemblerRegister64 d)
    {
        switch (w % 3)
        {
            case 0: a.shl(d, cl); break;
            case 1: a.shr(d, cl); break;
            default: a.sar(d, cl); break;
        }
    }

    private static void AttachTimer(ProtectedModeHarness machine, uint seed)
    {
        machine.InstallGate(TimerVector);
        machine.Memory.Write(new PhysicalAddress(ProtectedModeHarness.HandlerAddress(TimerVector)), ProtectedModeHarness.Assemble(32, a =>
        {
            a.inc(__dword_ptr[DataBase + 0x100]);
            a.iretd();
        }, ProtectedModeHarness.HandlerAddress(TimerVector)));
        machine.Cpu.InterruptController = new VirtualTimer(machine.Cpu, TimerVector, 5 + (int)(seed % 40));
        machine.Cpu.Flags |= InterruptFlag;
    }

    private static uint[] Extend(uint[] program, uint seed)
    {
        int length = 16 + (int)(seed % 33);
        if (program.Length >= length)
        {
            return program;
        }

        uint[] extended = new uint[length];
        program.CopyTo(extended, 0);
        uint x = seed | 1;
        for (int i = program.Length; i < length; i++)
        {
            // xorshift32: a fixed function of the seed, so a failing case replays.
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            extended[i] = x;
        }

        return extended;
    }

    private static byte[] Build(uint[] program)
    {
        var a = new Assembler(32);
        int count = Math.Min(program.Length, 48);
        Label[] labels = new Label[count + 1];
        for (int i = 0; i <= count; i++)
        {
            labels[i] = a.CreateLabel();
        }

        for (int i = 0; i < count; i++)
        {
            a.Label(ref labels[i]);
            EmitInstruction(a, program[i], i, labels);
        }

        a.Label(ref labels[count]);
        a.hlt();
        using var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), ProtectedModeHarness.CodeAddress);
        return stream.ToArray();
    }

    private static void EmitInstruction(Assembler a, uint w, int index, Label[] labels)
    {
        AssemblerRegister32 d = s_destinations[(w >> 8) % s_destinations.Length];
        AssemblerRegister32 s = s_sources[(w >> 12) % s_sources.Length];
        AssemblerRegister8 b = s_bytes[(w >> 16) % s_bytes.Length];
        AssemblerRegister16 dw = s_words[(w >> 8) % s_words.Length];
        AssemblerRegister16 sw = s_words[(w >> 12) % s_words.Length];
        int imm = (int)(w >> 16) - 0x8000;
        int disp = (int)((w >> 20) & 0xFC);
        int cc = (int)((w >> 24) & 0xF);
        Label forward = labels[Math.Min(index + 1 + (int)((w >> 28) & 3), labels.Length - 1)];
        switch (w % InstructionKinds)
        {
            case 0: a.mov(d, s); break;
            case 1: a.mov(d, (uint)imm); break;
            case 2: a.add(d, s); break;
            case 3: a.sub(d, s); break;
            case 4: a.cmp(d, s); break;
            case 5: a.and(d, s); break;
            case 6: a.or(d, s); break;
            case 7: a.xor(d, s); break;
            case 8: a.test(d, s); break;
            case 9: a.add(d, imm); break;
            case 10: a.sub(d, imm); break;
            case 11: a.cmp(d, imm); break;
            case 12: a.and(d, imm); break;
            case 13: a.or(d, imm); break;
            case 14: a.xor(d, imm); break;
            case 15: a.test(d, imm); break;
            case 16: a.inc(d); break;
            case 17: a.dec(d); break;
            case 18: a.lea(d, __[s + d * (1 << (int)((w >> 4) & 3)) + imm]); break;
            case 19: a.mov(d, __dword_ptr[ebp + disp]); break;
            case 20: a.mov(__dword_ptr[ebp + disp], s); break;
            case 21: a.add(d, __dword_ptr[ebp + disp]); break;
            case 22: a.add(__dword_ptr[ebp + disp], s); break;
            case 23: a.adc(d, s); break;
            case 24: a.sbb(d, imm); break;
            case 25: Setcc(a, cc, b); break;
            case 26: Cmovcc(a, cc, d, s); break;
            case 27: a.shl(d, (byte)(w >> 28)); break;
            case 28: a.push(s); break;
            case 29: a.pop(d); break;
            case 30: Jcc(a, cc, forward); break;
            case 31:
                // A backward branch: loops, which the budget bounds.
                Jcc(a, cc, labels[Math.Max(0, index - 1 - (int)((w >> 28) & 3))]);
                break;
            case 32: a.div(d); break;
            case 33: a.mov(dw, sw); break;
            case 34: a.add(dw, (short)imm); break;
            case 35: a.pushfd(); break;
            case 36: a.rcl(d, 1); break;
            case 37: a.neg(d); break;
            case 38: a.imul(d, s); break;
            case 39:
                // A store through a random register: anywhere, the code and the tables included (self-modifying code, faults).
                a.mov(__dword_ptr[d], s);
                break;
            case 40: a.xchg(d, s); break;
            case 41: a.lea(d, __[s + disp]); break;
            case 42: a.jmp(forward); break;
            case 43: a.inc(b); break;

            // Flag producers right before their consumers, so that every condition meets every kind of lazy record.
            case 44:
                a.cmp(d, s);
                Jcc(a, cc, forward);
                break;
            case 45:
                a.sub(d, imm);
                Jcc(a, cc, forward);
                break;
            case 46:
                a.test(d, s);
                Setcc(a, cc, b);
                break;
            case 47:
                a.add(d, s);
                Cmovcc(a, cc, d, s);
                break;
            case 48:
                a.inc(d);
                Jcc(a, cc, forward);
                break;

            // 16-bit operand and address sizes (generated inline: the upper bits of the register stay as they were).
            case 50: a.sub(dw, sw); break;
            case 51:
                a.cmp(dw, (short)imm);
                Jcc(a, cc, forward);
                break;
            case 52: a.and(dw, sw); break;
            case 53:
                if ((w & 0x10) != 0)
                {
                    a.inc(dw);
                }
                else
                {
                    a.dec(dw);
                }

                Jcc(a, cc, forward);
                break;
            case 54: a.lea(dw, __[bx + si + disp]); break;
            case 55: a.lea(d, __[bp + di + (disp * 0x101)]); break;
            case 56:
                a.test(dw, sw);
                Setcc(a, cc, b);
                break;
            case 57:
                a.xor(dw, (short)imm);
                a.mov(sw, dw);
                break;

            // The register forms generated inline beyond ADD..TEST (BlockEmitter.Shift.cs, Arith.cs, Move.cs), in 16 and 32
            // bits, most between a flag producer and a consumer: counts of 0 (nothing changes), 1 and above the width.
            case 58:
                Producer(a, w >> 2, d, s);
                Shift(a, w >> 4, d, (byte)(w >> 24));
                Jcc(a, cc, forward);
                break;
            case 59:
                Producer(a, w >> 2, d, s);
                Shift(a, w >> 4, dw, (byte)(w >> 24));
                Setcc(a, cc, b);
                break;
            case 60:
                // By CL: 0 and 32 mask to 0, 17-31 shift a word beyond its width.
                a.mov(cl, (byte)((w >> 20) % 40));
                Producer(a, w >> 2, d, s);
                if ((w & 0x40) != 0)
                {
                    ShiftByCl(a, w >> 4, d);
                }
                else
                {
                    ShiftByCl(a, w >> 4, dw);
                }

                Jcc(a, cc, forward);
                break;
            case 61:
                Producer(a, w >> 2, d, s);
                Rotate(a, w >> 4, d, (byte)(w >> 24));
                Jcc(a, cc, forward);
                break;
            case 62:
                Producer(a, w >> 2, dw, sw);
                Rotate(a, w >> 4, dw, (byte)(w >> 24));
                Carry(a, w >> 6, dw, sw);
                break;
            case 63:
                Producer(a, w >> 2, d, s);
                Carry(a, w >> 5, d, s);
                Jcc(a, cc, forward);
                break;
            case 64:
                Producer(a, w >> 2, dw, sw);
                Carry(a, w >> 5, dw, sw);
                Carry(a, w >> 7, dw, (short)imm);
                Setcc(a, cc, b);
                break;
            case 65:
                // The benchmark loop's pair: a shift's CF into ADC; then SBB and a consumer of the Adc/Sbb record.
                Shift(a, 0, d, 1);
                a.adc(s == ebp ? edx : s, 0);
                a.sbb(d, imm);
                Jcc(a, cc, forward);
                break;
            case 66:
                Producer(a, w >> 2, d, s);
                if ((w & 0x40) != 0)
                {
                    a.neg(d);
                }
                else
                {
                    a.neg(dw);
                }

                Carry(a, w >> 8, d, s);
                break;
            case 67:
                Producer(a, w >> 2, d, s);
                if ((w & 0x40) != 0)
                {
                    a.not(d);
                }
                else
                {
                    a.not(dw);
                }

                Jcc(a, cc, forward);
                break;
            case 68:
                Producer(a, w >> 2, d, s);
                switch ((w >> 4) & 3)
                {
                    case 0: a.imul(d, s); break;
                    case 1: a.imul(d, s, imm * 3); break;
                    case 2: a.imul(dw, sw); break;
                    default: a.imul(dw, sw, (short)imm); break;
                }

                Jcc(a, cc, forward);
                break;
            case 69:
                switch ((w >> 4) & 7)
                {
                    case 0: a.movzx(d, b); break;
                    case 1: a.movsx(d, b); break;
                    case 2: a.movzx(d, sw); break;
                    case 3: a.movsx(d, sw); break;
                    case 4: a.movzx(dw, b); break;
                    case 5: a.movsx(dw, b); break;
                    case 6: a.xchg(dw, sw); break;
                    default: a.xchg(d, s); break;
                }

                break;
            case 70:
                switch ((w >> 4) & 3)
                {
                    case 0: a.cbw(); break;
                    case 1: a.cwde(); break;
                    case 2: a.cwd(); break;
                    default: a.cdq(); break;
                }

                break;
            case 71:
                Producer(a, w >> 2, dw, sw);
                Cmovcc(a, cc, dw, sw);
                break;
            case 72:
                Producer(a, w >> 2, d, s);
                BitTest(a, w >> 4, d, s, (byte)(w >> 24));
                Carry(a, w >> 7, d, s);
                break;
            case 73:
                Producer(a, w >> 2, dw, sw);
                BitTest(a, w >> 4, dw, sw, (byte)(w >> 24));
                Jcc(a, cc, forward);
                break;
            case 74:
                // INC keeps CF: a shift's carry, folded by INC, read by ADC.
                Shift(a, w >> 4, d, (byte)(w >> 24));
                a.inc(s == ebp ? esi : s);
                Carry(a, w >> 6, d, s);
                break;
            case 75:
                Producer(a, w >> 2, d, s);
                Shift(a, w >> 4, d, (byte)((w >> 24) & 0x20));
                Carry(a, w >> 6, s == ebp ? ecx : s, d);
                Jcc(a, cc, forward);
                break;
            case 76:
                a.mov(cl, (byte)((w >> 20) & 0x21));
                Producer(a, w >> 2, d, s);
                ShiftByCl(a, w >> 4, d);
                Carry(a, w >> 6, d, s);
                Setcc(a, cc, b);
                break;
            case 77:
                // ADC/SBB of a register with itself: with a carry-in, SBB's operands are equal and ADC's result may equal its
                // destination, the cases where the carry-in decides the next ADC's CF.
                Producer(a, w >> 2, d, s);
                Carry(a, w >> 5, d, d);
                Carry(a, w >> 7, d, s);
                Cmovcc(a, cc, d, s);
                break;
            case 78:
                Producer(a, w >> 2, d, s);
                Shift(a, w >> 4, d, (byte)(w >> 24));
                a.pushfd();
                break;
            case 79:
                Producer(a, w >> 2, dw, sw);
                Carry(a, w >> 5, dw, sw);
                a.pushfd();
                break;
            default:
                a.xor(d, imm);
                Jcc(a, cc, labels[Math.Max(0, index - (int)((w >> 28) & 3))]);
                break;
        }
    }

    /// <summary>One of the flag producers the compiled tier generates (ADD, SUB, CMP, AND, INC, SHL, ADC, NEG), or none.</summary>
    private static void Producer(Assembler a, uint w, AssemblerRegister32 d, AssemblerRegister32 s)
    {
        switch (w & 7)
        {
            case 0: a.add(d, s); break;
            case 1: a.sub(d, s); break;
            case 2: a.cmp(d, s); break;
            case 3: a.and(d, s); break;
            case 4: a.inc(d); break;
            case 5: a.shl(d, 1); break;
            case 6: a.adc(d, s); break;
            default: break;
        }
    }

    private static void Producer(Assembler a, uint w, AssemblerRegister16 d, AssemblerRegister16 s)
    {
        switch (w & 7)
        {
            case 0: a.add(d, s); break;
            case 1: a.sub(d, s); break;
            case 2: a.cmp(d, s); break;
            case 3: a.or(d, s); break;
            case 4: a.dec(d); break;
            case 5: a.sar(d, 3); break;
            case 6: a.sbb(d, s); break;
            default: a.neg(d); break;
        }
    }

    private static void Shift(Assembler a, uint w, AssemblerRegister32 d, byte count)
    {
        switch (w % 3)
        {
            case 0: a.shl(d, count); break;
            case 1: a.shr(d, count); break;
            default: a.sar(d, count); break;
        }
    }

    private static void Shift(Assembler a, uint w, AssemblerRegister16 d, byte count)
    {
        switch (w % 3)
        {
            case 0: a.shl(d, count); break;
            case 1: a.shr(d, count); break;
            default: a.sar(d, count); break;
        }
    }

    private static void ShiftByCl(Assembler a, uint w, AssemblerRegister32 d)
    {
        switch (w % 3)
        {
            case 0: a.shl(d, cl); break;
            case 1: a.shr(d, cl); break;
            default: a.sar(d, cl); break;
        }
    }

    private static void ShiftByCl(Assembler a, uint w, AssemblerRegister16 d)
    {
        switch (w % 3)
        {
            case 0: a.shl(d, cl); break;
            case 1: a.shr(d, cl); break;
            default: a.sar(d, cl); break;
        }
    }

    private static void Rotate(Assembler a, uint w, AssemblerRegister32 d, byte count)
    {
        if ((w & 1) != 0)
        {
            a.rol(d, count);
        }
        else
        {
            a.ror(d, count);
        }
    }

    private static void Rotate(Assembler a, uint w, AssemblerRegister16 d, byte count)
    {
        if ((w & 1) != 0)
        {
            a.rol(d, count);
        }
        else
        {
            a.ror(d, count);
        }
    }

    /// <summary>ADC or SBB of a register or an immediate (which reads the record's CF).</summary>
    private static void Carry(Assembler a, uint w, AssemblerRegister32 d, AssemblerRegister32 s)
    {
        switch (w & 3)
        {
            case 0: a.adc(d, s); break;
            case 1: a.sbb(d, s); break;
            case 2: a.adc(d, (int)(w >> 8) - 0x80); break;
            default: a.sbb(d, (int)(w >> 4)); break;
        }
    }

    private static void Carry(Assembler a, uint w, AssemblerRegister16 d, AssemblerRegister16 s)
    {
        if ((w & 1) != 0)
        {
            a.adc(d, s);
        }
        else
        {
            a.sbb(d, s);
        }
    }

    private static void Carry(Assembler a, uint w, AssemblerRegister16 d, short imm)
    {
        if ((w & 1) != 0)
        {
            a.adc(d, imm);
        }
        else
        {
            a.sbb(d, imm);
        }
    }

    private static void BitTest(Assembler a, uint w, AssemblerRegister32 d, AssemblerRegister32 s, byte bit)
    {
        switch (w & 7)
        {
            case 0: a.bt(d, bit); break;
            case 1: a.bts(d, bit); break;
            case 2: a.btr(d, bit); break;
            case 3: a.btc(d, bit); break;
            case 4: a.bt(d, s); break;
            case 5: a.bts(d, s); break;
            case 6: a.btr(d, s); break;
            default: a.btc(d, s); break;
        }
    }

    private static void BitTest(Assembler a, uint w, AssemblerRegister16 d, AssemblerRegister16 s, byte bit)
    {
        switch (w & 7)
        {
            case 0: a.bt(d, bit); break;
            case 1: a.bts(d, bit); break;
            case 2: a.btr(d, bit); break;
            case 3: a.btc(d, bit); break;
            case 4: a.bt(d, s); break;
            case 5: a.bts(d, s); break;
            case 6: a.btr(d, s); break;
            default: a.btc(d, s); break;
        }
    }

    private static void Jcc(Assembler a, int cc, Label target)
    {
        switch (cc)
        {
            case 0: a.jo(target); break;
            case 1: a.jno(target); break;
            case 2: a.jb(target); break;
            case 3: a.jae(target); break;
            case 4: a.je(target); break;
            case 5: a.jne(target); break;
            case 6: a.jbe(target); break;
            case 7: a.ja(target); break;
            case 8: a.js(target); break;
            case 9: a.jns(target); break;
            case 10: a.jp(target); break;
            case 11: a.jnp(target); break;
            case 12: a.jl(target); break;
            case 13: a.jge(target); break;
            case 14: a.jle(target); break;
            default: a.jg(target); break;
        }
    }

    private static void Setcc(Assembler a, int cc, AssemblerRegister8 r)
    {
        switch (cc)
        {
            case 0: a.seto(r); break;
            case 1: a.setno(r); break;
            case 2: a.setb(r); break;
            case 3: a.setae(r); break;
            case 4: a.sete(r); break;
            case 5: a.setne(r); break;
            case 6: a.setbe(r); break;
            case 7: a.seta(r); break;
            case 8: a.sets(r); break;
            case 9: a.setns(r); break;
            case 10: a.setp(r); break;
            case 11: a.setnp(r); break;
            case 12: a.setl(r); break;
            case 13: a.setge(r); break;
            case 14: a.setle(r); break;
            default: a.setg(r); break;
        }
    }

    private static void Cmovcc(Assembler a, int cc, AssemblerRegister32 d, AssemblerRegister32 s)
    {
        switch (cc)
        {
            case 0: a.cmovo(d, s); break;
            case 1: a.cmovno(d, s); break;
            case 2: a.cmovb(d, s); break;
            case 3: a.cmovae(d, s); break;
            case 4: a.cmove(d, s); break;
            case 5: a.cmovne(d, s); break;
            case 6: a.cmovbe(d, s); break;
            case 7: a.cmova(d, s); break;
            case 8: a.cmovs(d, s); break;
            case 9: a.cmovns(d, s); break;
            case 10: a.cmovp(d, s); break;
            case 11: a.cmovnp(d, s); break;
            case 12: a.cmovl(d, s); break;
            case 13: a.cmovge(d, s); break;
            case 14: a.cmovle(d, s); break;
            default: a.cmovg(d, s); break;
        }
    }

    private static void Cmovcc64(Assembler a, int cc, AssemblerRegister64 d, AssemblerRegister64 s)
    {
        switch (cc)
        {
            case 0: a.cmovo(d, s); break;
            case 1: a.cmovno(d, s); break;
            case 2: a.cmovb(d, s); break;
            case 3: a.cmovae(d, s); break;
            case 4: a.cmove(d, s); break;
            case 5: a.cmovne(d, s); break;
            case 6: a.cmovbe(d, s); break;
            case 7: a.cmova(d, s); break;
            case 8: a.cmovs(d, s); break;
            case 9: a.cmovns(d, s); break;
            case 10: a.cmovp(d, s); break;
            case 11: a.cmovnp(d, s); break;
            case 12: a.cmovl(d, s); break;
            case 13: a.cmovge(d, s); break;
            case 14: a.cmovle(d, s); break;
            default: a.cmovg(d, s); break;
        }
    }

    private static void Cmovcc(Assembler a, int cc, AssemblerRegister16 d, AssemblerRegister16 s)
    {
        switch (cc)
        {
            case 0: a.cmovo(d, s); break;
            case 1: a.cmovno(d, s); break;
            case 2: a.cmovb(d, s); break;
            case 3: a.cmovae(d, s); break;
            case 4: a.cmove(d, s); break;
            case 5: a.cmovne(d, s); break;
            case 6: a.cmovbe(d, s); break;
            case 7: a.cmova(d, s); break;
            case 8: a.cmovs(d, s); break;
            case 9: a.cmovns(d, s); break;
            case 10: a.cmovp(d, s); break;
            case 11: a.cmovnp(d, s); break;
            case 12: a.cmovl(d, s); break;
            case 13: a.cmovge(d, s); break;
            case 14: a.cmovle(d, s); break;
            default: a.cmovg(d, s); break;
        }
    }
}
