using DecodedOp = Virt.Cpu.Decoding.Op;
using FsCheck.Xunit;
using Iced.Intel;
using Virt.Memory;
using Xunit;
using static Iced.Intel.AssemblerRegisters;
using H = Virt.Cpu.Tests.LongMode.LongModeHarness;

namespace Virt.Cpu.Tests.LongMode;

/// <summary>
/// The 64-bit-mode fast forms chosen at translation (Cpu.FastMemory64.cs, Cpu.FastRegister64.cs, the stack of
/// Cpu.Stack64.cs): each is run against the generic path on the same inputs. A memory form with 64-bit addressing
/// (<c>[rbx+disp]</c>) takes the fast form; the same instruction with the 67h prefix (<c>[ebx+disp]</c>, the same address
/// below 4 GiB) has no fast form and runs through the generic handlers; a register shift or multiply is compared with its
/// memory-operand version. Results, flags, the fault raised (vector, error code, CR2) and the state after it must agree,
/// at addresses inside a page, across a 4 KiB boundary, across into an unmapped page and inside it; non-canonical addresses
/// are checked against the SDM (#GP(0), or #SS(0) through RSP).
/// </summary>
public sealed class FastForm64Tests
{
    /// <summary>The harness maps the first GiB with 2 MiB pages; this is the first address PDPT entry 1 (not present) covers.</summary>
    private const uint Unmapped = 0x4000_0000;

    /// <summary>The last 2 MiB page below <see cref="Unmapped"/>, which the tests point at physical 0 so that it has RAM.</summary>
    private const uint AliasPage = Unmapped - 0x20_0000;

    private const int AliasDirectoryEntry = 511;
    private const ulong LargePagePresentWritableUser = 0x87;

    private const uint Data = H.DataAddress + 0x1000;
    private const uint ArithmeticStatus = 0x8D5;
    private const int VectorGeneralProtection = 13;
    private const int VectorStackFault = 12;
    private const int VectorPageFault = 14;

    public enum MemoryForm
    {
        MovzxByte64,
        MovzxWord32,
        MovsxByte64,
        MovsxWord64,
        Movsxd64,
        MovsxByte32,
        LoadByteLow,
        LoadByteHigh,
        LoadByteRex,
        StoreByteRegister,
        StoreWordRegister,
        StoreByteImmediate,
        StoreWordImmediate,
        IncQword,
        IncDword,
        DecQword,
        DecDword,
    }

    public enum RegisterForm
    {
        ShlImmediate,
        ShrImmediate,
        SarImmediate,
        ShlCl,
        ShrCl,
        SarCl,
        Imul2,
        Imul3,
    }

    /// <summary>Where the access lands: inside a page, across a 4 KiB boundary, across into the unmapped GiB, inside it.</summary>
    private static ulong Address(byte placement, byte offset) => (placement % 4) switch
    {
        0 => Data + 0x100 + (uint)(offset % 0x80),
        1 => Data + 0xFF8 + (uint)(offset % 8),
        2 => Unmapped - 8 + (uint)(offset % 8),
        _ => Unmapped + 0x100 + (uint)(offset % 0x80),
    };

    [Property(MaxTest = 150)]
    public void Memory_forms_equal_the_generic_path(MemoryForm form, ulong memory, ulong register, byte placement, byte offset, bool carry)
    {
        ulong address = Address(placement, offset);
        Outcome fast = RunMemoryForm(form, memory, register, address, carry, generic: false);
        Outcome generic = RunMemoryForm(form, memory, register, address, carry, generic: true);
        Assert.Equal(generic, fast);
    }

    [Property(MaxTest = 150)]
    public void Register_shifts_and_multiplies_equal_the_generic_path(RegisterForm form, ulong value, ulong other, byte count, bool carry)
    {
        Outcome fast = RunRegisterForm(form, value, other, count, carry, memorySource: false);
        Outcome generic = RunRegisterForm(form, value, other, count, carry, memorySource: true);
        Assert.Equal(generic, fast);
    }

    [Fact]
    public void The_forms_are_chosen_and_the_generic_versions_are_not()
    {
        // The property is only worth something if the two encodings really take different paths.
        Assert.Equal(DecodedOp.LoadZxLong, Translate(a => a.movzx(rax, __byte_ptr[rbx + 8])));
        Assert.Equal(DecodedOp.Movzx, Translate(a => a.movzx(rax, __byte_ptr[ebx + 8])));
        Assert.Equal(DecodedOp.LoadSxLong, Translate(a => a.movsxd(rax, __dword_ptr[rbx])));
        Assert.Equal(DecodedOp.Load8Long, Translate(a => a.mov(sil, __byte_ptr[rbx])));
        Assert.Equal(DecodedOp.StoreNarrowLong, Translate(a => a.mov(__word_ptr[rbx], 5)));
        Assert.Equal(DecodedOp.IncMemLong, Translate(a => a.inc(__qword_ptr[rbx])));
        Assert.Equal(DecodedOp.Inc, Translate(a => a.@lock.inc(__qword_ptr[rbx])));
        Assert.Equal(DecodedOp.DecMemLong, Translate(a =>
        {
            Label data = a.CreateLabel();
            a.dec(__dword_ptr[data]); // RIP-relative
            a.Label(ref data);
            a.nop();
        }));
        Assert.Equal(DecodedOp.ShlRegister64, Translate(a => a.shl(rax, cl)));
        Assert.Equal(DecodedOp.Shl, Translate(a => a.shl(__qword_ptr[rbx], cl)));
        Assert.Equal(DecodedOp.SarRegister64, Translate(a => a.sar(r9, 63)));
        Assert.Equal(DecodedOp.ImulRegister64, Translate(a => a.imul(rax, rbx, -3)));
        Assert.Equal(DecodedOp.Imul2, Translate(a => a.imul(rax, __qword_ptr[rbx])));
    }

    [Theory]
    [InlineData(0x0000_8000_0000_0000UL, false)]
    [InlineData(0xFFFF_7FFF_FFFF_FFF8UL, false)]
    [InlineData(0x0000_8000_0000_0000UL, true)]
    public void Non_canonical_addresses_fault_as_the_sdm_says(ulong address, bool throughRbp)
    {
        // Intel SDM Vol. 3A, 6.15 (#GP) and #SS: a non-canonical data address is #GP(0), #SS(0) when the segment is SS
        // (RBP or RSP as the base); nothing is written and the destination keeps its value.
        foreach (MemoryForm form in Enum.GetValues<MemoryForm>())
        {
            var m = new H();
            m.Load(a =>
            {
                a.mov(rax, 0x1111);
                a.mov(rcx, 0x2222);
                a.mov(rsi, 0x3333);
                if (throughRbp)
                {
                    a.mov(rbp, address);
                }
                else
                {
                    a.mov(rbx, address);
                }

                EmitMemoryForm(a, form, throughRbp ? __[rbp] : __[rbx]);
                a.hlt();
            });
            m.Cpu.Run(10_000);
            Assert.Equal(throughRbp ? VectorStackFault : VectorGeneralProtection, m.Cpu.LastExceptionVector);
            Assert.Equal(0UL, m.Qword(m.Reg(GeneralRegister.Rsp))); // the error code
            Assert.Equal((0x1111UL, 0x2222UL, 0x3333UL), (m.Reg(GeneralRegister.Rax), m.Reg(GeneralRegister.Rcx), m.Reg(GeneralRegister.Rsi)));
        }
    }

    [Theory]
    [InlineData(0x0000_8000_0000_0010UL, VectorStackFault)]
    [InlineData(Unmapped + 0x10UL, VectorPageFault)]
    [InlineData(Unmapped + 0x4UL, VectorPageFault)]
    public void Push_pop_call_and_ret_fault_without_moving_rsp(ulong stack, int vector)
    {
        // The stack instructions take the inline TLB probe now; a stack that is not canonical (#SS(0)) or not present
        // (#PF, CR2 the first byte not mapped) still faults with RSP as it was (Intel SDM Vol. 2B, PUSH/POP/CALL/RET).
        Action<Assembler>[] instructions =
        [
            a => a.push(rax),
            a => a.pop(rcx),
            a => a.push(0x12),
            a => a.pushfq(),
            a => a.ret(),
            a => a.call(H.CodeAddress),
        ];
        foreach (Action<Assembler> instruction in instructions)
        {
            var m = new H();
            m.Load(a =>
            {
                a.mov(rcx, 0x2222);
                a.mov(rsp, stack);
                instruction(a);
                a.hlt();
            });
            m.SetGate(VectorStackFault, H.HandlerAddress(VectorStackFault), ist: 1);
            m.SetGate(VectorPageFault, H.HandlerAddress(VectorPageFault), ist: 1);
            m.Cpu.Run(10_000);
            Assert.Equal(vector, m.Cpu.LastExceptionVector);
            ulong frame = m.Reg(GeneralRegister.Rsp);
            Assert.Equal(stack, m.Qword(frame + 32)); // the interrupted RSP
            Assert.Equal(0x2222UL, m.Reg(GeneralRegister.Rcx));
            if (vector == VectorPageFault)
            {
                // The first byte of the access that is not mapped.
                Assert.InRange(m.Cpu.Cr2, Math.Max(Unmapped, stack - 8), stack + 7);
            }
        }
    }

    [Property(MaxTest = 60)]
    public void Push_pop_call_and_ret_store_and_load_what_the_sdm_says(ulong value, byte offset)
    {
        // RSP at the top of a mapped page, so that some pushes straddle the 4 KiB boundary below it (the slow path).
        ulong stack = Data + 0x1000 + (uint)(offset % 16);
        const uint function = H.CodeAddress + 0x100;
        var m = new H();
        m.Load(a =>
        {
            a.mov(rsp, stack);
            a.mov(rax, value);
            a.push(rax);
            a.push(0x7F);
            a.pop(rcx);
            a.pop(rdx);
            a.mov(r9, function);
            a.call(r9);
            a.hlt();
        });
        m.Memory.Write(new PhysicalAddress(function), H.Assemble(64, a =>
        {
            a.mov(r8, __qword_ptr[rsp]);
            a.ret();
        }, function));
        m.Cpu.Run(10_000);
        Assert.Equal(-1, m.Cpu.LastExceptionVector);
        Assert.Equal(0x7FUL, m.Qword(stack - 16)); // PUSH imm8 sign-extends to a qword
        Assert.Equal(0x7FUL, m.Reg(GeneralRegister.Rcx));
        Assert.Equal(value, m.Reg(GeneralRegister.Rdx));
        Assert.Equal(stack, m.Reg(GeneralRegister.Rsp));
        Assert.Equal(m.Qword(stack - 8), m.Reg(GeneralRegister.R8)); // CALL's return address, where the first PUSH was
        Assert.InRange(m.Reg(GeneralRegister.R8), H.CodeAddress, H.CodeAddress + 0x40);
    }

    private static DecodedOp Translate(Action<Assembler> build)
    {
        byte[] bytes = H.Assemble(64, build, H.CodeAddress);
        var decoder = Decoder.Create(64, bytes, H.CodeAddress);
        decoder.Decode(out Instruction instruction);
        var d = default(global::Virt.Cpu.Decoding.DecodedInstruction);
        global::Virt.Cpu.Decoding.InstructionTranslator.Translate(in instruction, bytes, ref d, code32: false, code64: true);
        return d.Op;
    }

    private static void EmitMemoryForm(Assembler a, MemoryForm form, AssemblerMemoryOperand m)
    {
        switch (form)
        {
            case MemoryForm.MovzxByte64: a.movzx(rax, __byte_ptr[m]); break;
            case MemoryForm.MovzxWord32: a.movzx(eax, __word_ptr[m]); break;
            case MemoryForm.MovsxByte64: a.movsx(rax, __byte_ptr[m]); break;
            case MemoryForm.MovsxWord64: a.movsx(rax, __word_ptr[m]); break;
            case MemoryForm.Movsxd64: a.movsxd(rax, __dword_ptr[m]); break;
            case MemoryForm.MovsxByte32: a.movsx(eax, __byte_ptr[m]); break;
            case MemoryForm.LoadByteLow: a.mov(al, __byte_ptr[m]); break;
            case MemoryForm.LoadByteHigh: a.mov(ch, __byte_ptr[m]); break;
            case MemoryForm.LoadByteRex: a.mov(sil, __byte_ptr[m]); break;
            case MemoryForm.StoreByteRegister: a.mov(__byte_ptr[m], cl); break;
            case MemoryForm.StoreWordRegister: a.mov(__word_ptr[m], cx); break;
            case MemoryForm.StoreByteImmediate: a.mov(__byte_ptr[m], (byte)0xA5); break;
            case MemoryForm.StoreWordImmediate: a.mov(__word_ptr[m], (ushort)0x8001); break;
            case MemoryForm.IncQword: a.inc(__qword_ptr[m]); break;
            case MemoryForm.IncDword: a.inc(__dword_ptr[m]); break;
            case MemoryForm.DecQword: a.dec(__qword_ptr[m]); break;
            default: a.dec(__dword_ptr[m]); break;
        }
    }

    /// <summary>The physical address of a linear one: identity, except in <see cref="AliasPage"/> (mapped to physical 0).</summary>
    private static ulong Physical(ulong linear) => linear >= AliasPage ? linear - AliasPage : linear;

    private static void MapAliasPage(H m) =>
        m.Memory.WriteQuadWord(new PhysicalAddress(H.PageDirectory + (AliasDirectoryEntry * 8)), LargePagePresentWritableUser);

    private static Outcome RunMemoryForm(MemoryForm form, ulong memory, ulong register, ulong address, bool carry, bool generic)
    {
        var m = new H();
        m.Load(a =>
        {
            a.mov(rax, register);
            a.mov(rcx, ~register);
            a.mov(rsi, register ^ 0x5A5A);
            a.mov(rbx, address - 0x10);
            if (carry)
            {
                a.stc();
            }
            else
            {
                a.clc();
            }

            EmitMemoryForm(a, form, generic ? __[ebx + 0x10] : __[rbx + 0x10]);
            a.hlt();
        });
        MapAliasPage(m);

        // The qword the access starts in (for the unmapped placements, the last one before the unmapped GiB).
        ulong start = Physical(Math.Min(address, Unmapped - 8));
        m.Memory.WriteQuadWord(new PhysicalAddress(start), memory);
        m.Cpu.Run(10_000);
        return Outcome.Of(m, start);
    }

    private static Outcome RunRegisterForm(RegisterForm form, ulong value, ulong other, byte count, bool carry, bool memorySource)
    {
        var m = new H();
        m.Memory.WriteQuadWord(new PhysicalAddress(Data), value);
        m.Memory.WriteQuadWord(new PhysicalAddress(Data + 8), other);
        m.Load(a =>
        {
            a.mov(rax, value);
            a.mov(rdx, other);
            a.mov(rcx, count);
            a.mov(rbx, Data);
            if (carry)
            {
                a.stc();
            }
            else
            {
                a.clc();
            }

            // The generic versions: the same operation on the qword at [rbx] (value) or with the source at [rbx+8].
            AssemblerMemoryOperand destination = __qword_ptr[rbx];
            AssemblerMemoryOperand source = __qword_ptr[rbx + 8];
            switch (form)
            {
                case RegisterForm.ShlImmediate: if (memorySource) { a.shl(destination, count); } else { a.shl(rax, count); } break;
                case RegisterForm.ShrImmediate: if (memorySource) { a.shr(destination, count); } else { a.shr(rax, count); } break;
                case RegisterForm.SarImmediate: if (memorySource) { a.sar(destination, count); } else { a.sar(rax, count); } break;
                case RegisterForm.ShlCl: if (memorySource) { a.shl(destination, cl); } else { a.shl(rax, cl); } break;
                case RegisterForm.ShrCl: if (memorySource) { a.shr(destination, cl); } else { a.shr(rax, cl); } break;
                case RegisterForm.SarCl: if (memorySource) { a.sar(destination, cl); } else { a.sar(rax, cl); } break;
                case RegisterForm.Imul2: if (memorySource) { a.imul(rax, source); } else { a.imul(rax, rdx); } break;
                default: if (memorySource) { a.imul(rax, source, (int)(sbyte)count * 0x1_0101); } else { a.imul(rax, rdx, (int)(sbyte)count * 0x1_0101); } break;
            }

            if (memorySource && form < RegisterForm.Imul2)
            {
                a.mov(rax, destination);
            }

            a.hlt();
        });
        m.Cpu.Run(10_000);
        return Outcome.Of(m, Data + 0x100); // memory the generic versions do not touch
    }

    /// <summary>The state the two paths must agree on.</summary>
    private readonly record struct Outcome(int Vector, ulong ErrorCode, ulong Cr2, uint Flags, ulong Rax, ulong Rcx, ulong Rsi, ulong Memory)
    {
        public static Outcome Of(H m, ulong physical)
        {
            int vector = m.Cpu.LastExceptionVector;
            bool errorCode = vector is VectorGeneralProtection or VectorStackFault or VectorPageFault;
            return new Outcome(
                vector,
                errorCode ? m.Qword(m.Reg(GeneralRegister.Rsp)) : 0,
                vector == VectorPageFault ? m.Cpu.Cr2 : 0,
                m.Cpu.Flags & ArithmeticStatus,
                m.Reg(GeneralRegister.Rax),
                m.Reg(GeneralRegister.Rcx),
                m.Reg(GeneralRegister.Rsi),
                m.Qword(physical));
        }
    }
}
